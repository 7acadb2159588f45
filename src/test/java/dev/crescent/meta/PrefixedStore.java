package dev.crescent.meta;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/** A store seen under a root prefix, so tests sharing one etcd each get an empty key space. */
final class PrefixedStore implements MetadataStore {
    private final MetadataStore inner;
    private final String root;

    PrefixedStore(MetadataStore inner, String root) {
        this.inner = inner;
        this.root = root;
    }

    private KeyValue strip(KeyValue kv) {
        return new KeyValue(kv.key().substring(root.length()), kv.value(), kv.modRevision(), kv.leaseId());
    }

    @Override
    public Optional<KeyValue> get(String key) {
        return inner.get(root + key).map(this::strip);
    }

    @Override
    public List<KeyValue> getPrefix(String prefix) {
        return inner.getPrefix(root + prefix).stream().map(this::strip).toList();
    }

    @Override
    public long put(String key, byte[] value, long leaseId) {
        return inner.put(root + key, value, leaseId);
    }

    @Override
    public boolean delete(String key) {
        return inner.delete(root + key);
    }

    @Override
    public long deleteRange(String fromInclusive, String toExclusive) {
        return inner.deleteRange(root + fromInclusive, root + toExclusive);
    }

    @Override
    public void compact(long revision) {
        inner.compact(revision);
    }

    @Override
    public boolean compareAndSwap(String key, long expectedModRevision, byte[] value, long leaseId) {
        return inner.compareAndSwap(root + key, expectedModRevision, value, leaseId);
    }

    @Override
    public boolean createGuarded(String guardKey, long guardModRevision, List<KeyValue> entries) {
        return inner.createGuarded(
                root + guardKey,
                guardModRevision,
                entries.stream()
                        .map(e -> new KeyValue(root + e.key(), e.value(), 0, 0))
                        .toList());
    }

    @Override
    public long grantLease(Duration ttl) {
        return inner.grantLease(ttl);
    }

    @Override
    public void keepAlive(long leaseId) {
        inner.keepAlive(leaseId);
    }

    @Override
    public void revokeLease(long leaseId) {
        inner.revokeLease(leaseId);
    }

    @Override
    public AutoCloseable watchPrefix(String prefix, Consumer<WatchEvent> listener) {
        return inner.watchPrefix(root + prefix, e -> listener.accept(new WatchEvent(e.type(), strip(e.entry()))));
    }

    @Override
    public void close() {
        inner.close();
    }
}
