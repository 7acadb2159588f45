package dev.crescent.master;

/**
 * What a policy may look at when ordering objects for eviction.
 *
 * @param softPinned the object is soft-pinned now: the master evicts it only after every unpinned candidate,
 *                   whatever the policy's order
 */
public record EvictionCandidate(
        String key, long size, long completedMillis, long lastAccessMillis, long accessCount, boolean softPinned) {}
