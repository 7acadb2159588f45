package dev.crescent.master.eviction;

/** What a policy may look at when ordering objects for eviction. */
public record EvictionCandidate(String key, long size, long completedMillis, long lastAccessMillis,
                                long accessCount) {
}
