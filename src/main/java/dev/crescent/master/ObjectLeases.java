package dev.crescent.master;

import java.util.Arrays;

/**
 * The read leases on one version of an object. A lease lasts until its reader releases it (its transfer is over)
 * or until its deadline, the safety net for readers that die or never release. Up to {@link #TRACKED} leases are
 * kept one by one, so each can end on its own; past that, or for leases whose holders are unknown (a new leader
 * inherits only that the old one may have granted some), only a deadline is kept, and those end by time alone.
 * That bounds what a reader that never releases can cost: one slot, for one lease TTL.
 *
 * <p>Synchronized: a live version is changed inside its key's atomic section, but a version that left the index
 * while leased is released from whichever thread carries the reader's release.
 */
final class ObjectLeases {
    static final int TRACKED = 32;

    private long[] ids;
    private long[] deadlines;
    private int count;
    /** Leases that can only end by time: past {@link #TRACKED}, or inherited from an old leader. */
    private long untrackedUntilMillis;

    /**
     * Grants a lease until {@code deadlineMillis}.
     *
     * @return {@code id}, or 0 when the lease is not tracked one by one (releasing it does nothing; it ends at its
     * deadline)
     */
    synchronized long grant(long id, long deadlineMillis, long nowMillis) {
        dropEnded(nowMillis);
        if (count == TRACKED) {
            untrackedUntilMillis = Math.max(untrackedUntilMillis, deadlineMillis);
            return 0;
        }
        if (ids == null || count == ids.length) {
            int grown = ids == null ? 2 : Math.min(TRACKED, ids.length * 2);
            ids = ids == null ? new long[grown] : Arrays.copyOf(ids, grown);
            deadlines = deadlines == null ? new long[grown] : Arrays.copyOf(deadlines, grown);
        }
        ids[count] = id;
        deadlines[count] = deadlineMillis;
        count++;
        return id;
    }

    /** A lease whose holder is unknown, ending at {@code deadlineMillis}. */
    synchronized void holdUntil(long deadlineMillis) {
        untrackedUntilMillis = Math.max(untrackedUntilMillis, deadlineMillis);
    }

    /** Ends the lease {@code id}; @return whether it was held here */
    synchronized boolean release(long id) {
        for (int i = 0; i < count; i++) {
            if (ids[i] == id) {
                removeAt(i);
                return true;
            }
        }
        return false;
    }

    synchronized boolean isLeased(long nowMillis) {
        if (untrackedUntilMillis > nowMillis) {
            return true;
        }
        for (int i = 0; i < count; i++) {
            if (deadlines[i] > nowMillis) {
                return true;
            }
        }
        return false;
    }

    /** When the last lease held now ends at the latest (its deadline); 0 when none is held. */
    synchronized long lastDeadlineMillis() {
        long last = untrackedUntilMillis;
        for (int i = 0; i < count; i++) {
            last = Math.max(last, deadlines[i]);
        }
        return last;
    }

    private void dropEnded(long nowMillis) {
        for (int i = count - 1; i >= 0; i--) {
            if (deadlines[i] <= nowMillis) {
                removeAt(i);
            }
        }
    }

    private void removeAt(int i) {
        count--;
        ids[i] = ids[count];
        deadlines[i] = deadlines[count];
    }
}
