package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.proto.EventBatch;
import dev.crescent.protocol.proto.ObjectEvent;
import dev.crescent.protocol.proto.ObjectEventsGrpc;
import dev.crescent.protocol.proto.WatchEventsRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * Follows a master's object events, across reconnects and failovers: after a broken stream it asks the leader (as
 * {@code leader} names it now) for the events after the last position it saw, so the events it hands on have no
 * repeats and no gaps. When the master cannot say what came between, it fails with EVENTS_LOST and the caller
 * starts over from the state it reads anew.
 */
public final class EventWatcher {
    private static final Logger LOG = Logger.getLogger(EventWatcher.class);
    private static final long RETRY_MILLIS = 200;

    private final Supplier<String> leader;
    private final SSLContext tls;
    private final String nodeName;
    private final Duration reconnectFor;
    private volatile ManagedChannel open;
    private volatile boolean closed;

    /**
     * @param leader       host:port of the master to watch, asked again after every broken stream
     * @param tls          null for plaintext
     * @param reconnectFor how long to keep trying to reconnect before giving up (RPC_FAIL)
     */
    public EventWatcher(Supplier<String> leader, SSLContext tls, String nodeName, Duration reconnectFor) {
        this.leader = leader;
        this.tls = tls;
        this.nodeName = nodeName;
        this.reconnectFor = reconnectFor;
    }

    /** Hands each event under {@code prefix} to {@code onEvent}, in order, until {@link #close} (or a failure). */
    public void follow(String prefix, Consumer<ObjectEvent> onEvent) {
        String stream = "";
        long after = 0;
        long brokenSince = 0;
        while (!closed) {
            ManagedChannel channel = null;
            try {
                channel = connect(leader.get());
                Iterator<EventBatch> batches = ObjectEventsGrpc.newBlockingStub(channel)
                        .watchEvents(WatchEventsRequest.newBuilder()
                                .setPrefix(prefix)
                                .setStream(stream)
                                .setAfter(after)
                                .build());
                while (batches.hasNext()) {
                    EventBatch batch = batches.next();
                    brokenSince = 0;
                    stream = batch.getStream();
                    batch.getEventsList().forEach(onEvent);
                    after = batch.getPosition();
                }
            } catch (StatusRuntimeException | StoreException e) {
                // A broken stream, or no leader to ask yet (NOT_LEADER from the lookup): retried for a while.
                StoreException failure =
                        e instanceof StatusRuntimeException status ? GrpcErrors.fromStatus(status) : (StoreException) e;
                if (closed) {
                    return;
                }
                long now = System.nanoTime();
                brokenSince = brokenSince == 0 ? now : brokenSince;
                if (!retryable(failure.code()) || now - brokenSince > reconnectFor.toNanos()) {
                    throw failure;
                }
                LOG.debugf("event stream broken (%s); resuming after %d", failure.getMessage(), after);
            } finally {
                if (channel != null) {
                    channel.shutdownNow();
                }
            }
            sleep();
        }
    }

    private static boolean retryable(ErrorCode code) {
        return code == ErrorCode.RPC_FAIL || code == ErrorCode.NOT_LEADER || code == ErrorCode.METADATA_ERROR;
    }

    private ManagedChannel connect(String address) {
        NettyChannelBuilder builder = NettyChannelBuilder.forTarget(address);
        Metadata headers = new Metadata();
        headers.put(GrpcErrors.NODE_KEY, nodeName);
        ManagedChannel channel = (tls == null ? builder.usePlaintext() : builder.sslContext(ClientTls.forGrpc(tls)))
                .intercept(MetadataUtils.newAttachHeadersInterceptor(headers))
                .build();
        open = channel;
        return channel;
    }

    private void sleep() {
        try {
            TimeUnit.MILLISECONDS.sleep(RETRY_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /** Ends {@link #follow} (from another thread). */
    public void close() {
        closed = true;
        ManagedChannel channel = open;
        if (channel != null) {
            channel.shutdownNow();
        }
    }
}
