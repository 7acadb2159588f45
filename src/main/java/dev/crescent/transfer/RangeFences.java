package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Ranges of this process's segments that the master freed, each with the issue stamp of the revoking ticket that
 * freed it: a ticket for an overlapping range issued before that stamp is refused. A ticket is checked by the worker
 * alone, so this is how one is called back: a reader that handed its lease back, or a writer whose put ended, can no
 * longer reach memory the master has given to another object. A fence is kept until the revoking ticket expires
 * (the master makes that outlast every earlier ticket), so their number stays bounded by the frees of one ticket
 * lifetime; fences of one segment never overlap (a newer one cuts the older ones it covers).
 *
 * <p>Transfers already past their ticket check when a fence lands are the server's concern: it is told through
 * {@link #onFence} and closes their connections before the range is scrubbed.
 */
public final class RangeFences {
    /** A fenced range {@code [offset, end)}: tickets issued before {@code stamp} are refused until {@code until}. */
    public record Fence(String segment, long offset, long end, long stamp, long untilMillis) {
        public boolean overlaps(long from, long to) {
            return offset < to && from < end;
        }
    }

    /** Told of every fence as it is raised (before any byte of the scrub moves). */
    public interface Listener {
        void fenced(Fence fence);
    }

    /** One segment's fences by offset, with the size at which expired ones are next dropped (amortised O(1)). */
    private static final class SegmentFences {
        final NavigableMap<Long, Fence> byOffset = new TreeMap<>();
        int pruneAtSize = 64;

        void pruneExpired(long nowMillis) {
            if (byOffset.size() >= pruneAtSize) {
                byOffset.values().removeIf(f -> f.untilMillis() < nowMillis);
                pruneAtSize = Math.max(64, byOffset.size() * 2);
            }
        }
    }

    private final Map<String, SegmentFences> bySegment = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    public void onFence(Listener listener) {
        listeners.add(listener);
    }

    public void removeListener(Listener listener) {
        listeners.remove(listener);
    }

    /** Raises the fence a revoking ticket carries, then tells the listeners. */
    public void raise(TransferTicket revoking, long nowMillis) {
        Fence fence = new Fence(
                revoking.segment(),
                revoking.offset(),
                revoking.offset() + revoking.length(),
                revoking.issuedAtMicros(),
                revoking.expiresAtMillis());
        SegmentFences segment = bySegment.computeIfAbsent(fence.segment(), s -> new SegmentFences());
        synchronized (segment) {
            segment.pruneExpired(nowMillis);
            NavigableMap<Long, Fence> fences = segment.byOffset;
            long stamp = fence.stamp();
            for (Fence old : overlapping(fences, fence.offset(), fence.end())) {
                fences.remove(old.offset());
                stamp = Math.max(stamp, old.stamp()); // a fence from a newer master stays in force
                if (old.offset() < fence.offset()) {
                    fences.put(
                            old.offset(),
                            new Fence(old.segment(), old.offset(), fence.offset(), old.stamp(), old.untilMillis()));
                }
                if (old.end() > fence.end()) {
                    fences.put(
                            fence.end(),
                            new Fence(old.segment(), fence.end(), old.end(), old.stamp(), old.untilMillis()));
                }
            }
            fences.put(
                    fence.offset(),
                    new Fence(fence.segment(), fence.offset(), fence.end(), stamp, fence.untilMillis()));
        }
        for (Listener listener : listeners) {
            listener.fenced(fence);
        }
    }

    /**
     * Refuses {@code ticket} for {@code [offset, offset+length)} when that range was freed after the ticket was
     * issued.
     */
    public void check(TransferTicket ticket, long offset, long length, long nowMillis) {
        SegmentFences segment = bySegment.get(ticket.segment());
        if (segment == null) {
            return;
        }
        synchronized (segment) {
            for (Fence fence : overlapping(segment.byOffset, offset, offset + length)) {
                if (isRevoked(fence, ticket.issuedAtMicros(), nowMillis)) {
                    throw new StoreException(
                            ErrorCode.PERMISSION_DENIED,
                            "transfer ticket was revoked: [%d, +%d) of '%s' was freed after it was issued"
                                    .formatted(fence.offset(), fence.end() - fence.offset(), fence.segment()));
                }
            }
        }
    }

    /** Whether a transfer under a ticket issued at {@code issuedAtMicros} must stop at {@code fence}. */
    public static boolean isRevoked(Fence fence, long issuedAtMicros, long nowMillis) {
        return issuedAtMicros < fence.stamp() && fence.untilMillis() >= nowMillis;
    }

    /** How many fences are kept (for tests and a gauge). */
    public int size() {
        int total = 0;
        for (SegmentFences segment : bySegment.values()) {
            synchronized (segment) {
                total += segment.byOffset.size();
            }
        }
        return total;
    }

    private static List<Fence> overlapping(NavigableMap<Long, Fence> fences, long from, long to) {
        List<Fence> found = new ArrayList<>(2);
        Map.Entry<Long, Fence> before = fences.floorEntry(from);
        if (before != null && before.getValue().overlaps(from, to)) {
            found.add(before.getValue());
        }
        for (Fence fence : fences.subMap(from, false, to, false).values()) {
            found.add(fence);
        }
        return found;
    }
}
