package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.protocol.PutSpace;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.SegmentTier;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * Space granted ahead to writers on the same host as a segment (issue 20): a writer that maps the segment's
 * shared-memory file copies its next object into the space itself, and one small put start naming the space makes the
 * object there, so a put over shared memory is one round trip that carries no bytes. A space is an ordinary
 * allocation of its segment held for one client until it is used or its lifetime ends; only then is it freed.
 *
 * <p>While a space is the writer's, a version of its own is published in the segment's version table at the space's
 * slot, as an object's is, and the writer copies only after reading it there. It is withdrawn before the memory can go
 * to anything else: when the lifetime ends, when the segment is unmounted (its whole table is cleared), and by a new
 * master, which clears the table of a segment it mounts empty. So a writer never copies into memory a master that
 * restarted meanwhile may have handed to another put (short of the copy racing the withdrawal, as a put's copy into
 * its range races a pre-emption).
 *
 * <p>Granted only by a master that {@link ObjectBook#publishesVersions() publishes versions}: no op-log (a new leader
 * would not know the space, and could hand its memory to another put while the writer still copies into it) and no
 * access control (a writer through its own mapping presents no ticket, and the pool's memory is not scrubbed
 * between tenants).
 */
final class PutSpaces {
    /** How long a space is kept for its writer; the writer's own limit is half of it (see {@code GrantedSpaces}). */
    static final long LIFETIME_MILLIS = 10_000;
    /**
     * The most spaces one client holds at once, and the most bytes: a bound on memory a client can hold without putting
     * anything. A writer of batches holds a space per key of its next batch, so the count allows large batches of small
     * objects; the bytes are what 32 of the largest spaces held before batches had spaces.
     */
    static final int MAX_PER_CLIENT = 1024;

    static final long MAX_BYTES_PER_CLIENT = 2L << 30;
    /** The largest space granted: larger puts move their bytes in two calls as before (they are bandwidth-bound). */
    static final long MAX_BYTES = 64L << 20;

    /** A space held for {@code clientId} on {@code replica}'s range, its word holding {@code version} meanwhile. */
    record Granted(long id, String clientId, Replica replica, long version, long expiresAtMillis) {
        long size() {
            return replica.range().length();
        }
    }

    private final ObjectBook book;
    private final PlacementStrategy placement;
    private final Map<Long, Granted> granted = new ConcurrentHashMap<>();
    /** What one client holds. */
    private record Share(int spaces, long bytes) {
        Share plus(int count, long size) {
            return new Share(spaces + count, bytes + size);
        }
    }

    /** Spaces each client holds; a client holding none has no entry. */
    private final Map<String, Share> heldBy = new ConcurrentHashMap<>();

    private final AtomicLong lastId = new AtomicLong();

    PutSpaces(ObjectBook book, PlacementStrategy placement) {
        this.book = book;
        this.placement = placement;
    }

    /**
     * Space of {@code size} bytes for {@code clientId}'s next put, on a DRAM segment whose shared-memory file lies on
     * {@code writerHost}; null when this master grants none, the client holds its share, or no such segment has room
     * (a space never evicts anything: the put that needs room makes it).
     */
    PutSpace grant(String clientId, String writerHost, long size) {
        if (writerHost.isEmpty() || size <= 0 || size > MAX_BYTES || !book.publishesVersions()) {
            return null;
        }
        if (!takeShare(clientId, size)) {
            return null;
        }
        List<MountedSegment> candidates = placement.candidates(book.segments.mounted(), size, clientId);
        for (MountedSegment segment : candidates) {
            if (segment.tier() != SegmentTier.DRAM || !onHost(segment, writerHost)) {
                continue;
            }
            Allocation range = segment.allocate(size);
            if (range == null) {
                continue;
            }
            Replica replica = new Replica(segment, range);
            long version = book.leaseIds.next();
            long slot = book.versions.publish(replica, version);
            if (slot < 0) {
                replica.release(); // no version table here: the writer could not tell when the space is void
                continue;
            }
            Granted space = new Granted(
                    lastId.incrementAndGet(), clientId, replica, version, book.clock.millis() + LIFETIME_MILLIS);
            granted.put(space.id(), space);
            return new PutSpace(space.id(), replica.describe().withVersionSlot(slot), LIFETIME_MILLIS, version);
        }
        giveShare(clientId, size);
        return null;
    }

    /**
     * The space {@code id} if it is {@code clientId}'s, of exactly {@code size} bytes, unexpired and on a segment still
     * mounted; null otherwise. It stays granted until {@link #used}.
     */
    Granted find(long id, String clientId, long size) {
        Granted space = granted.get(id);
        if (space == null
                || !space.clientId().equals(clientId)
                || space.replica().range().length() != size
                || space.expiresAtMillis() <= book.clock.millis()) {
            return null;
        }
        MountedSegment segment = space.replica().segment();
        return segment.isMounted() && book.segments.get(segment.name()) == segment ? space : null;
    }

    /**
     * The space is becoming an object's memory (called in the key's section): it is no longer the writer's. False when
     * it was not granted any more (used by a concurrent put, or expired meanwhile): the put must not live there.
     */
    boolean used(Granted space) {
        if (!granted.remove(space.id(), space)) {
            return false;
        }
        giveShare(space.clientId(), space.size());
        return true;
    }

    /** A space {@link #used} for a put that was then refused stays the writer's, as it was. */
    void giveBack(Granted space) {
        heldBy.merge(space.clientId(), new Share(1, space.size()), (held, back) -> held.plus(1, back.bytes()));
        granted.put(space.id(), space);
    }

    /** Frees spaces whose lifetime is over. */
    void sweep(long now) {
        free(space -> space.expiresAtMillis() <= now);
    }

    /** Frees every space {@code clientId} holds: it is closing, and copies into none of them. */
    void freeAll(String clientId) {
        if (heldBy.containsKey(clientId)) {
            free(space -> space.clientId().equals(clientId));
        }
    }

    private void free(Predicate<Granted> over) {
        for (Granted space : granted.values()) {
            if (over.test(space) && granted.remove(space.id(), space)) {
                giveShare(space.clientId(), space.size());
                book.versions.withdraw(space.replica(), space.version()); // before the memory can go elsewhere
                space.replica().release();
            }
        }
    }

    /** Counts one more space of {@code size} bytes for the client, unless that would pass its share. */
    private boolean takeShare(String clientId, long size) {
        boolean[] taken = {false};
        heldBy.compute(clientId, (c, held) -> {
            Share now = held == null ? new Share(0, 0) : held;
            if (now.spaces() >= MAX_PER_CLIENT || now.bytes() + size > MAX_BYTES_PER_CLIENT) {
                return held;
            }
            taken[0] = true;
            return now.plus(1, size);
        });
        return taken[0];
    }

    private void giveShare(String clientId, long size) {
        heldBy.computeIfPresent(clientId, (c, held) -> held.spaces() <= 1 ? null : held.plus(-1, -size));
    }

    private static boolean onHost(MountedSegment segment, String host) {
        PeerAddress address = PeerAddress.parse(segment.endpoint());
        return !address.shmFile().isEmpty() && address.hostId().equals(host);
    }
}
