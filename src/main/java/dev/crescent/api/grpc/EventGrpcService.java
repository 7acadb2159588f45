package dev.crescent.api.grpc;

import dev.crescent.api.OpMetrics;
import dev.crescent.api.RoleGuard;
import dev.crescent.common.Right;
import dev.crescent.master.EventJournal;
import dev.crescent.master.Master;
import dev.crescent.master.ObjectEvent;
import dev.crescent.master.access.AccessControl;
import dev.crescent.master.access.AccessPolicy;
import dev.crescent.master.access.Caller;
import dev.crescent.protocol.proto.EventBatch;
import dev.crescent.protocol.proto.EventKind;
import dev.crescent.protocol.proto.ObjectEvents;
import dev.crescent.protocol.proto.WatchEventsRequest;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.MultiEmitter;
import org.jboss.logging.Logger;

import java.util.List;

/**
 * gRPC adapter of the event journal: one virtual thread per watcher follows its cursor through the journal and
 * sends what the watcher may read. It sends only as fast as the watcher takes (gRPC flow control); a watcher that
 * falls behind the journal's ring is ended with EVENTS_LOST rather than left with a gap.
 */
@GrpcService
public class EventGrpcService implements ObjectEvents {
    private static final Logger LOG = Logger.getLogger(EventGrpcService.class);
    private static final int MAX_EVENTS_PER_BATCH = 1024;
    /** How long a watcher waits for events before it sends its position anyway (a liveness beat). */
    private static final long BEAT_MILLIS = 5_000;

    private static final long IDLE_POLL_MILLIS = 10;

    private final Master master;
    private final AccessControl access;
    private final GrpcCalls calls;

    public EventGrpcService(Master master, RoleGuard role, OpMetrics metrics, AccessControl access) {
        this.master = master;
        this.access = access;
        this.calls = new GrpcCalls(metrics, access, role::requireMaster);
    }

    @Override
    public Multi<EventBatch> watchEvents(WatchEventsRequest request) {
        Caller caller = CallerInterceptor.current(); // the gRPC context is this thread's only
        EventJournal journal = master.events();
        EventJournal.Cursor cursor;
        try {
            cursor = calls.run(
                    "watch_events",
                    null,
                    null,
                    () -> request.getStream().isEmpty()
                            ? journal.now()
                            : journal.after(request.getStream(), request.getAfter()));
        } catch (RuntimeException refused) {
            return Multi.createFrom().failure(refused);
        }
        String prefix = request.getPrefix();
        return Multi.createFrom()
                .emitter(emitter -> Thread.ofVirtual()
                        .name("crescent-watch")
                        .start(() -> follow(journal, cursor, prefix, caller, emitter)));
    }

    private void follow(
            EventJournal journal,
            EventJournal.Cursor cursor,
            String prefix,
            Caller caller,
            MultiEmitter<? super EventBatch> emitter) {
        String stream = journal.stream();
        emitter.emit(EventBatch.newBuilder()
                .setStream(stream)
                .setPosition(cursor.position())
                .build());
        long lastSent = System.currentTimeMillis();
        try {
            while (!emitter.isCancelled()) {
                if (emitter.requested() == 0) {
                    Thread.sleep(IDLE_POLL_MILLIS); // the watcher has not taken what was sent
                    continue;
                }
                List<ObjectEvent> events = journal.read(cursor, MAX_EVENTS_PER_BATCH, BEAT_MILLIS);
                EventBatch.Builder batch = EventBatch.newBuilder().setStream(stream);
                AccessPolicy policy = access.policy();
                for (ObjectEvent event : events) {
                    if (event.key().startsWith(prefix) && policy.allows(caller, Right.READ, event.key())) {
                        batch.addEvents(toProto(event));
                    }
                }
                long now = System.currentTimeMillis();
                // Filtered-out events move the position too; a beat carries it now and then.
                if (batch.getEventsCount() > 0 || now - lastSent >= BEAT_MILLIS) {
                    emitter.emit(batch.setPosition(cursor.position()).build());
                    lastSent = now;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.debugf("event watcher ended: %s", e.getMessage());
            emitter.fail(calls.failed("watch_events", e));
            return;
        }
        emitter.complete();
    }

    private static dev.crescent.protocol.proto.ObjectEvent toProto(ObjectEvent event) {
        return dev.crescent.protocol.proto.ObjectEvent.newBuilder()
                .setSequence(event.sequence())
                .setKind(
                        switch (event.kind()) {
                            case STORED -> EventKind.STORED;
                            case REMOVED -> EventKind.REMOVED;
                            case EVICTED -> EventKind.EVICTED;
                        })
                .setKey(event.key())
                .setSize(event.size())
                .addAllSegments(event.segments())
                .build();
    }
}
