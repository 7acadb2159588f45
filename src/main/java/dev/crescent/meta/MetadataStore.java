package dev.crescent.meta;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Where cluster metadata lives: segment descriptors, worker records, master election, op-log. Implemented over
 * etcd for clusters and in-process for a single box. Keys are plain strings; failures are StoreExceptions with
 * METADATA_ERROR.
 */
public interface MetadataStore extends AutoCloseable {

    Optional<KeyValue> get(String key);

    /** Every entry whose key starts with {@code prefix}, in key order. */
    List<KeyValue> getPrefix(String prefix);

    /** @param leaseId 0, or a live lease the key disappears with; @return the new revision */
    long put(String key, byte[] value, long leaseId);

    /** @return whether the key existed */
    boolean delete(String key);

    /** Deletes every key in {@code [fromInclusive, toExclusive)} in one step; @return how many there were */
    long deleteRange(String fromInclusive, String toExclusive);

    /**
     * Forgets the history before {@code revision} (the old values of keys changed or deleted since, which etcd keeps
     * until told otherwise and counts against its space quota). Current values and live watches are unaffected. A
     * store without history ignores it.
     */
    void compact(long revision);

    /**
     * Writes only if the key's mod revision is still {@code expectedModRevision} (0: only if the key is absent).
     *
     * @return whether the write happened
     */
    boolean compareAndSwap(String key, long expectedModRevision, byte[] value, long leaseId);

    /**
     * Creates {@code key} (it must be absent) only while {@code guardKey} is still at {@code guardModRevision}: one
     * atomic step, so a writer whose guard changed (a deposed leader) can never write.
     *
     * @return whether the write happened
     */
    default boolean createGuarded(String guardKey, long guardModRevision, String key, byte[] value) {
        return createGuarded(guardKey, guardModRevision, List.of(new KeyValue(key, value, 0, 0)));
    }

    /**
     * Creates every key of {@code entries} (each must be absent), all or none, only while {@code guardKey} is still at
     * {@code guardModRevision}: one atomic step (one etcd transaction; etcd takes at most 128 operations in one).
     *
     * @return whether the writes happened
     */
    boolean createGuarded(String guardKey, long guardModRevision, List<KeyValue> entries);

    long grantLease(Duration ttl);

    /** Renews a lease; throws METADATA_ERROR when it has already expired (its keys are gone). */
    void keepAlive(long leaseId);

    void revokeLease(long leaseId);

    /** Calls {@code listener} for every later change under {@code prefix}, in order, until the handle is closed. */
    AutoCloseable watchPrefix(String prefix, Consumer<WatchEvent> listener);

    @Override
    void close();
}
