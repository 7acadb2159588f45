package dev.crescent.master;

import dev.crescent.transfer.TransferOp;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.List;

/**
 * Checks the objects of a segment a restarted worker took over against the CRC32C their writers recorded. A copy
 * that does not match was changed while no process owned the memory, and its object is removed, so that no reader
 * gets other bytes than those put. Objects put without a checksum cannot be checked and stay: the segment file's
 * contents id already says the memory is the one they were written to. Runs once per takeover on a thread of its
 * own while the segment serves (readers with checksums on check every read themselves meanwhile).
 */
final class TakeoverCheck implements Runnable {
    private static final Logger LOG = Logger.getLogger(TakeoverCheck.class);
    /** How long the master's READ ticket for one copy lives: reading it takes far less. */
    private static final long TICKET_MILLIS = 30_000;

    private final ObjectBook book;
    private final ReplicaChecksums checksums;
    private final MountedSegment segment;

    TakeoverCheck(ObjectBook book, ReplicaChecksums checksums, MountedSegment segment) {
        this.book = book;
        this.checksums = checksums;
        this.segment = segment;
    }

    /** One object's copy in the segment and the checksum it must have. */
    private record Copy(String key, Replica replica, long size, Long crc32c) {}

    @Override
    public void run() {
        List<Copy> copies = new ArrayList<>();
        book.index.forEach(meta -> {
            if (meta.state == ObjectState.COMPLETE && meta.crc32c != null) {
                for (Replica replica : meta.replicas) {
                    if (replica.segment() == segment) {
                        copies.add(new Copy(meta.key, replica, meta.size, meta.crc32c));
                    }
                }
            }
        });
        int removed = 0;
        int unread = 0;
        for (Copy copy : copies) {
            long crc32c;
            try {
                crc32c = checksums.crc32c(
                        book.describe(List.of(copy.replica()), TransferOp.READ, book.clock.millis() + TICKET_MILLIS)
                                .getFirst(),
                        copy.size());
            } catch (RuntimeException e) {
                unread++;
                LOG.warnf("object %s in segment %s could not be read to check it: %s", copy.key(), segment.name(), e);
                continue;
            }
            if (crc32c != copy.crc32c() && removeIfUnchanged(copy)) {
                removed++;
                LOG.warnf(
                        "object %s removed: its bytes in segment %s (taken over from a dead owner) do not match the "
                                + "CRC32C recorded at put",
                        copy.key(), segment.name());
            }
        }
        LOG.infof(
                "segment %s taken over: %d objects checked against their checksums, %d removed, %d unreadable",
                segment.name(), copies.size(), removed, unread);
    }

    /** Removes the object unless it changed since the copy was listed (replaced, rewritten, moved). */
    private boolean removeIfUnchanged(Copy copy) {
        boolean[] removed = {false};
        book.index.update(copy.key(), (key, meta) -> {
            if (meta == null
                    || meta.state != ObjectState.COMPLETE
                    || !copy.crc32c().equals(meta.crc32c)
                    || !meta.replicas.contains(copy.replica())) {
                return meta;
            }
            book.forget(meta);
            removed[0] = true;
            return null;
        });
        return removed[0];
    }
}
