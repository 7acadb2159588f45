package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.transfer.TransferOp;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Reads: a reader gets the live replicas of a complete object and a read lease on it, which keeps the object's
 * memory from being reused until the reader releases the lease (its transfer is over) or the lease TTL passes.
 * Each read counts as an access for eviction and renews a soft pin.
 */
final class ReadLeases {
    private final ObjectBook book;

    ReadLeases(ObjectBook book) {
        this.book = book;
    }

    /**
     * Takes a small object's bytes while its key is held. A copy made there needs no lease: the object's range is
     * reused only once the object has left the index, which takes a step of the same key, so nothing can change the
     * bytes while they are copied. That saves granting a lease, describing the replicas and handing the lease back (a
     * second step of the key): about a fifth of the master's time in batched 4 KiB gets when they were leased.
     */
    @FunctionalInterface
    interface Copier {
        /** A copy of the {@code size} bytes of the object held by {@code live}, or null: it is then leased. */
        MemorySegment copy(List<Replica> live, long size);
    }

    /**
     * The readable replicas of a complete object, with a fresh read lease (and READ tickets until it ends); or its
     * bytes without a lease when {@code copier} (null: none) copies them under the key: a location with no replicas
     * and lease id 0.
     */
    ObjectLocation locate(String key, Copier copier) {
        ObjectKeys.validate(key);
        long now = book.clock.millis();
        long deadline = now + book.settings.leaseTtl().toMillis();
        ObjectLocation[] answer = new ObjectLocation[1];
        book.index.update(key, (k, meta) -> {
            if (meta == null) {
                throw ObjectBook.notFound(key);
            }
            if (meta.state != ObjectState.COMPLETE) {
                throw new StoreException(ErrorCode.REPLICA_IS_NOT_READY, "put of '" + key + "' has not ended");
            }
            List<Replica> live = meta.liveReplicas();
            if (live.isEmpty()) {
                throw ObjectBook.notFound(key);
            }
            Tiering tiering = book.tiering;
            if (tiering != null && tiering.active() && Tiering.onDiskOnly(meta)) {
                tiering.promoteLater(key); // read from disk now, from DRAM next time if there is room
            }
            MemorySegment copied = copier == null ? null : copier.copy(live, meta.size);
            if (copied != null) {
                touch(meta, now);
                answer[0] = new ObjectLocation(meta.size, List.of(), deadline, meta.crc32c, 0, copied, meta.version);
                return meta;
            }
            long leaseId = meta.leases.grant(book.leaseIds.next(), deadline, now);
            touch(meta, now);
            if (book.signsTickets()) {
                meta.readTicketsUntilMillis = Math.max(meta.readTicketsUntilMillis, deadline);
            }
            answer[0] = new ObjectLocation(
                    meta.size,
                    book.versions.withSlots(live, book.describe(live, TransferOp.READ, deadline), meta.version),
                    deadline,
                    meta.crc32c,
                    leaseId,
                    null,
                    meta.version);
            return meta;
        });
        return answer[0];
    }

    /**
     * Whether a complete object exists. An existing object counts as read (an access, a renewed soft pin) but gets
     * no lease: no replica is handed out, so there is no transfer to protect.
     */
    boolean exists(String key) {
        ObjectKeys.validate(key);
        long now = book.clock.millis();
        boolean[] found = new boolean[1];
        book.index.update(key, (k, meta) -> {
            if (meta != null && meta.state == ObjectState.COMPLETE && meta.hasLiveReplica()) {
                touch(meta, now);
                found[0] = true;
            }
            return meta;
        });
        return found[0];
    }

    /**
     * Ends a reader's lease (its transfer is over). A lease that is not found (already ended, or granted by an
     * earlier leader) is ignored: the release is only ever early news of what the TTL will do anyway.
     */
    void release(String key, long leaseId) {
        if (leaseId == 0) {
            return;
        }
        boolean[] found = new boolean[1];
        book.index.update(key, (k, meta) -> {
            found[0] = meta != null && meta.leases.release(leaseId);
            return meta;
        });
        // Not on the current version: the key moved on (it is checked after the key's section, where a version
        // leaving the index is handed to the deferred releases).
        if (!found[0]) {
            book.deferred.endLease(key, leaseId, book.clock.millis());
        }
    }

    private void touch(ObjectMeta meta, long now) {
        meta.lastAccessMillis = now;
        meta.accessCount++;
        if (meta.softPin) {
            meta.softPinDeadlineMillis = now + book.settings.softPinTtl().toMillis();
        }
    }
}
