package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.ObjectKeys;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.transfer.TransferOp;

import java.util.List;

/**
 * Reads: a reader gets the live replicas of a complete object and a read lease on it, which keeps the object's
 * memory from being reused until the lease ends. Each read counts as an access for eviction and renews a soft pin.
 */
final class ReadLeases {
    private final ObjectBook book;

    ReadLeases(ObjectBook book) {
        this.book = book;
    }

    /** The readable replicas of a complete object, with a fresh read lease (and READ tickets until it ends). */
    ObjectLocation locate(String key) {
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
            meta.leaseDeadlineMillis = Math.max(meta.leaseDeadlineMillis, deadline);
            touch(meta, now);
            answer[0] = new ObjectLocation(
                    meta.size,
                    book.describe(live, TransferOp.READ, meta.leaseDeadlineMillis),
                    meta.leaseDeadlineMillis,
                    meta.crc32c);
            return meta;
        });
        return answer[0];
    }

    /** Whether a complete object exists; an existing object also gets a read lease. */
    boolean exists(String key) {
        ObjectKeys.validate(key);
        long now = book.clock.millis();
        long deadline = now + book.settings.leaseTtl().toMillis();
        boolean[] found = new boolean[1];
        book.index.update(key, (k, meta) -> {
            if (meta != null && meta.state == ObjectState.COMPLETE && meta.hasLiveReplica()) {
                meta.leaseDeadlineMillis = Math.max(meta.leaseDeadlineMillis, deadline);
                touch(meta, now);
                found[0] = true;
            }
            return meta;
        });
        return found[0];
    }

    private void touch(ObjectMeta meta, long now) {
        meta.lastAccessMillis = now;
        meta.accessCount++;
        if (meta.softPin) {
            meta.softPinDeadlineMillis = now + book.settings.softPinTtl().toMillis();
        }
    }
}
