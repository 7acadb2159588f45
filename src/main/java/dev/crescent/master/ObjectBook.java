package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.TransferOp;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The master's books, shared by the parts of the master that keep them: the object index, mounted segments, live
 * clients, unfinished puts, counts, deferred releases and the op-log. An object leaves the books only through
 * {@link #forget}, so the op-log, the counts and the memory always follow it alike.
 */
final class ObjectBook {
    /** How long the master's own WRITE ticket for scrubbing a range lives, at least. */
    private static final long SCRUB_GRANT_MILLIS = 30_000;
    /** Clock skew between master and workers a revocation allows for. */
    private static final long SKEW_MILLIS = 1_000;

    private static final long SCRUB_RETRY_MILLIS = 1_000;

    final ObjectIndex index = new ObjectIndex();
    final SegmentRegistry segments;
    final ClientRegistry clients = new ClientRegistry();
    /** Keys with an unfinished PutStart, and when it started; the sweep reclaims the abandoned ones. */
    final ConcurrentHashMap<String, Long> processing = new ConcurrentHashMap<>();

    final ObjectTally tally = new ObjectTally();
    final DeferredReleases deferred = new DeferredReleases(tally, this::free, this::ticketsHoldMemory);
    final LeaseIds leaseIds = new LeaseIds();
    final ObjectVersions versions = new ObjectVersions();
    final MasterSettings settings;
    final InstantSource clock;
    /** Signs a transfer ticket into every replica descriptor handed out; null when access control is off. */
    private final TicketSigner tickets;
    /** Where durable changes go (the op-log when this master leads a replicated cluster). */
    volatile OpLog opLog = OpLog.NONE;
    /**
     * The object events watchers read. A master without an op-log journals each change as it records it; with one,
     * the op-log's mirror journals what became durable (so every master of the cluster numbers events alike).
     */
    final EventJournal events;
    /** How long a revoking scrub ticket lives: past every ticket issued before it, plus clock skew. */
    private final long revocationMillis;
    /** Clears freed ranges before they are reused; null: ranges are reused as they are. */
    volatile Scrubber scrubber;
    /** Moves objects between DRAM and the disk tier; null: evicted objects are dropped. */
    volatile Tiering tiering;
    /** Reads copies back to check them after a takeover; null: taken-over objects are not checked. */
    volatile ReplicaChecksums checksums;

    ObjectBook(MasterSettings settings, InstantSource clock, TicketSigner tickets) {
        this.revocationMillis = Math.max(
                        SCRUB_GRANT_MILLIS,
                        Math.max(
                                settings.leaseTtl().toMillis(),
                                settings.putStartDiscardTimeout().toMillis()))
                + SKEW_MILLIS;
        this.settings = settings;
        this.clock = clock;
        this.tickets = tickets;
        this.segments = new SegmentRegistry(settings.allocationAlignment());
        this.events = new EventJournal(settings.eventBuffer(), "master/" + UUID.randomUUID());
    }

    /** Records an object that became complete. @return when the record is durable */
    CompletableFuture<Void> recordCommit(OpLogEntry.Commit commit) {
        OpLog log = opLog;
        if (!log.journalsEvents()) {
            events.appendNext(ObjectEvent.Kind.STORED, commit.key(), commit.size(), commit.segments());
        }
        return log.record(commit);
    }

    /** Records that a complete object held on {@code heldOn} is gone ({@code how}: REMOVED or EVICTED). */
    void recordDrop(ObjectMeta meta, ObjectEvent.Kind how, List<String> heldOn) {
        OpLog log = opLog;
        if (!log.journalsEvents()) {
            events.appendNext(how, meta.key, meta.size, heldOn);
        }
        log.record(new OpLogEntry.Drop(meta.key, how));
    }

    static List<String> segmentsOf(ObjectMeta meta) {
        return ObjectEvent.segmentsOf(meta.replicas, r -> r.segment().name());
    }

    /** Drops an object that is leaving the index: op-log, counts, and its memory now or when its lease ends. */
    void forget(ObjectMeta meta) {
        forget(meta, ObjectEvent.Kind.REMOVED);
    }

    /** As {@link #forget(ObjectMeta)}, saying how a complete object went. */
    void forget(ObjectMeta meta, ObjectEvent.Kind how) {
        forget(meta, how, segmentsOf(meta));
    }

    private void forget(ObjectMeta meta, ObjectEvent.Kind how, List<String> heldOn) {
        versions.withdraw(meta);
        if (meta.state == ObjectState.COMPLETE) {
            recordDrop(meta, how, heldOn);
            tally.complete.decrement();
        } else {
            processing.remove(meta.key, meta.putStartMillis);
        }
        deferred.release(meta, clock.millis());
    }

    /**
     * Whether committed objects get versions readers may cache their locations by: only while this master alone
     * decides what becomes of them (no op-log: a new leader of a replicated cluster could not withdraw versions in
     * tables on hosts it does not share) and reads need no rights checked (no tickets: a cached read skips the
     * master, and with it the access check).
     */
    boolean publishesVersions() {
        return tickets == null && opLog == OpLog.NONE;
    }

    /**
     * Whether tickets handed out for a version hold its memory until they expire: with tickets but no scrubber,
     * nothing calls them back. With a scrubber, the scrub of a freed range revokes them (see {@link #free}).
     */
    boolean ticketsHoldMemory() {
        return tickets != null && scrubber == null;
    }

    /**
     * Gives ranges back to their segments for reuse; with a scrubber, only once zeros are written over them (a
     * scrub that fails is tried again a second later; a segment that left the pool needs none). With tickets, the
     * scrub carries a revoking ticket: the worker refuses every ticket for the range issued before it, and stops
     * transfers under one in flight, before the zeros land, so the range can be reused however long earlier tickets
     * would have lived.
     */
    private void free(List<Replica> replicas) {
        Scrubber current = scrubber;
        for (Replica replica : replicas) {
            if (current == null || !replica.segment().inPool()) {
                replica.release();
                continue;
            }
            long now = clock.millis();
            current.zero(
                            tickets == null
                                    ? replica.describe()
                                    : replica.describeRevoking(tickets, now + revocationMillis))
                    .whenComplete((done, failure) -> {
                        if (failure == null) {
                            replica.release();
                        } else {
                            tally.scrubFailures.increment();
                            deferred.retry(List.of(replica), clock.millis() + SCRUB_RETRY_MILLIS);
                        }
                    });
        }
    }

    /** A restarted worker took {@code segment} over: its objects are checked in the background (when we can read). */
    void takenOver(MountedSegment segment) {
        ReplicaChecksums reader = checksums;
        if (reader != null) {
            Thread.ofVirtual()
                    .name("crescent-takeover-check-" + segment.name())
                    .start(new TakeoverCheck(this, reader, segment));
        }
    }

    /** Unmounts (if mounted), records it, and drops the replicas that lived there. */
    void unmountAndDrop(String clientId, String segment) {
        MountedSegment gone = segments.unmount(clientId, segment);
        if (gone != null) {
            opLog.record(new OpLogEntry.Unmount(gone.name()));
            dropReplicasOn(gone);
            versions.clear(gone); // spaces granted on it too: writers read their words before copying
            versions.close(gone);
        }
    }

    /** Objects keep their other replicas; those that had none elsewhere are forgotten. */
    private void dropReplicasOn(MountedSegment gone) {
        List<String> affected = new ArrayList<>();
        index.forEach(meta -> {
            if (meta.replicas.stream().anyMatch(r -> r.segment() == gone)) {
                affected.add(meta.key);
            }
        });
        for (String key : affected) {
            index.update(key, (k, meta) -> {
                if (meta == null) {
                    return null;
                }
                versions.withdraw(meta); // the replica on the gone segment may still be mapped by readers
                List<String> heldOn = segmentsOf(meta);
                meta.replicas =
                        meta.replicas.stream().filter(r -> r.segment() != gone).toList();
                if (!meta.replicas.isEmpty()) {
                    return meta;
                }
                forget(meta, ObjectEvent.Kind.REMOVED, heldOn);
                return null;
            });
        }
    }

    /** Whether replica descriptors carry tickets (access control is on): then grants bound memory reuse. */
    boolean signsTickets() {
        return tickets != null;
    }

    /** Descriptors for the caller, each with a ticket for {@code op} until the given time when tickets are on. */
    List<ReplicaDescriptor> describe(List<Replica> replicas, TransferOp op, long ticketExpiresAtMillis) {
        List<ReplicaDescriptor> described = new ArrayList<>(replicas.size());
        for (Replica replica : replicas) {
            described.add(replica.describe(tickets, op, ticketExpiresAtMillis));
        }
        return described;
    }

    static void requireClient(String clientId) {
        if (clientId == null || clientId.isBlank()) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "client id must not be empty");
        }
    }

    static StoreException notFound(String key) {
        return new StoreException(ErrorCode.OBJECT_NOT_FOUND, "object '" + key + "' not found");
    }
}
