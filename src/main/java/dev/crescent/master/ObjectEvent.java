package dev.crescent.master;

import java.util.List;
import java.util.function.Function;

/**
 * A change to the set of readable objects, as watchers see it.
 *
 * @param sequence where the event stands in its stream: {@code batch << 24 | index}, increasing but not contiguous
 *                 (a batch is one op-log entry in a replicated cluster, one change on a single master), so every
 *                 master of a cluster numbers the same event alike
 * @param segments the segments holding the object's replicas (for a removal: held until then)
 */
public record ObjectEvent(long sequence, Kind kind, String key, long size, List<String> segments) {
    private static final int INDEX_BITS = 24;

    public enum Kind {
        /** The object became readable (a put ended). */
        STORED,
        /** Removed by a client, replaced by an upsert, or lost with the segments that held it. */
        REMOVED,
        /** Evicted to make room. */
        EVICTED
    }

    public ObjectEvent {
        segments = List.copyOf(segments);
    }

    /**
     * The segments {@code replicas} are on, in order, as events name them: built on the put path twice per upsert
     * (the old version's removal, the new one's commit), so a loop into an immutable list, not a stream's pipeline.
     */
    static <R> List<String> segmentsOf(List<R> replicas, Function<R, String> segment) {
        if (replicas.size() == 1) {
            return List.of(segment.apply(replicas.getFirst()));
        }
        String[] names = new String[replicas.size()];
        for (int i = 0; i < names.length; i++) {
            names[i] = segment.apply(replicas.get(i));
        }
        return List.of(names);
    }

    /** The sequence of the {@code index}th event of {@code batch}. */
    public static long sequence(long batch, int index) {
        return batch << INDEX_BITS | Math.min(index, (1 << INDEX_BITS) - 1);
    }

    /** The last sequence any event of {@code batch} may have. */
    public static long lastOf(long batch) {
        return sequence(batch, Integer.MAX_VALUE);
    }

    public long batch() {
        return sequence >>> INDEX_BITS;
    }
}
