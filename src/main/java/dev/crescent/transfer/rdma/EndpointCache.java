package dev.crescent.transfer.rdma;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Connected endpoints (queue pairs) by peer and rail, least recently used first out: a cluster of many workers
 * would otherwise hold a queue pair per peer and rail forever, and devices have a limited number of them. An
 * evicted or invalidated endpoint is closed outside the lock.
 */
public final class EndpointCache<K, V extends AutoCloseable> implements AutoCloseable {
    private final int capacity;
    private final LinkedHashMap<K, V> entries = new LinkedHashMap<>(16, 0.75f, true);

    public EndpointCache(int capacity) {
        this.capacity = Math.max(1, capacity);
    }

    /** The endpoint for {@code key}, connecting one with {@code connect} when there is none. */
    public V get(K key, Function<K, V> connect) {
        synchronized (entries) {
            V existing = entries.get(key);
            if (existing != null) {
                return existing;
            }
        }
        V fresh = connect.apply(key); // slow (a handshake): not under the lock
        List<V> evicted = new ArrayList<>();
        V winner;
        synchronized (entries) {
            V raced = entries.putIfAbsent(key, fresh);
            winner = raced == null ? fresh : raced;
            if (raced != null) {
                evicted.add(fresh);
            }
            while (entries.size() > capacity) {
                Map.Entry<K, V> eldest = entries.entrySet().iterator().next();
                evicted.add(eldest.getValue());
                entries.remove(eldest.getKey());
            }
        }
        evicted.forEach(EndpointCache::closeQuietly);
        return winner;
    }

    /** Drops (and closes) the endpoint for {@code key}, e.g. after its queue pair went to ERROR. */
    public void invalidate(K key) {
        V gone;
        synchronized (entries) {
            gone = entries.remove(key);
        }
        if (gone != null) {
            closeQuietly(gone);
        }
    }

    public int size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    @Override
    public void close() {
        List<V> all;
        synchronized (entries) {
            all = new ArrayList<>(entries.values());
            entries.clear();
        }
        all.forEach(EndpointCache::closeQuietly);
    }

    private static void closeQuietly(AutoCloseable endpoint) {
        try {
            endpoint.close();
        } catch (Exception ignored) {
            // Closing a broken endpoint anyway.
        }
    }
}
