package dev.crescent.meta;

/**
 * One stored entry.
 *
 * @param modRevision store revision of the last change of this key (what compare-and-swap compares)
 * @param leaseId     the lease the key is bound to, 0 for none
 */
public record KeyValue(String key, byte[] value, long modRevision, long leaseId) {}
