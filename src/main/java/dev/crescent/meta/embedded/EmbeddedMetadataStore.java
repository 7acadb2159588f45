package dev.crescent.meta.embedded;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchEvent;

import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The metadata store inside this JVM, for one box and tests-of-one-box: the same semantics as the etcd store
 * (revisions, leases that take their keys with them, ordered prefix watches), nothing persisted. One lock
 * guards the data; watch events are delivered in order on one dispatcher thread, never under the lock.
 */
public final class EmbeddedMetadataStore implements MetadataStore {
    private final TreeMap<String, KeyValue> data = new TreeMap<>();
    private final Map<Long, Lease> leases = new HashMap<>();
    private final CopyOnWriteArrayList<Watcher> watchers = new CopyOnWriteArrayList<>();
    private final ExecutorService dispatcher = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("crescent-meta-watch").daemon().factory());
    private final ScheduledExecutorService expirer = Threads.daemonScheduler("crescent-meta-lease");
    private final InstantSource clock;
    private long revision;
    private long nextLeaseId = 1;

    private record Lease(long ttlMillis, long[] deadline, Set<String> keys) {}

    private record Watcher(String prefix, Consumer<WatchEvent> listener) {}

    public EmbeddedMetadataStore(InstantSource clock) {
        this.clock = clock;
        expirer.scheduleWithFixedDelay(this::expireLeases, 100, 100, TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized Optional<KeyValue> get(String key) {
        return Optional.ofNullable(data.get(key));
    }

    @Override
    public synchronized List<KeyValue> getPrefix(String prefix) {
        return List.copyOf(data.subMap(prefix, prefix + Character.MAX_VALUE).values());
    }

    @Override
    public synchronized long put(String key, byte[] value, long leaseId) {
        write(key, value, leaseId);
        return revision;
    }

    @Override
    public synchronized boolean delete(String key) {
        return remove(key);
    }

    @Override
    public void compact(long revision) {
        // Only current values are kept: there is no history to forget.
    }

    @Override
    public synchronized long deleteRange(String fromInclusive, String toExclusive) {
        List<String> doomed =
                new ArrayList<>(data.subMap(fromInclusive, toExclusive).keySet());
        doomed.forEach(this::remove);
        return doomed.size();
    }

    @Override
    public synchronized boolean compareAndSwap(String key, long expectedModRevision, byte[] value, long leaseId) {
        KeyValue current = data.get(key);
        long actual = current == null ? 0 : current.modRevision();
        if (actual != expectedModRevision) {
            return false;
        }
        write(key, value, leaseId);
        return true;
    }

    @Override
    public synchronized boolean createGuarded(String guardKey, long guardModRevision, List<KeyValue> entries) {
        KeyValue guard = data.get(guardKey);
        if (guard == null
                || guard.modRevision() != guardModRevision
                || entries.stream().anyMatch(e -> data.containsKey(e.key()))) {
            return false;
        }
        entries.forEach(e -> write(e.key(), e.value(), 0));
        return true;
    }

    @Override
    public synchronized long grantLease(Duration ttl) {
        long id = nextLeaseId++;
        leases.put(id, new Lease(ttl.toMillis(), new long[] {clock.millis() + ttl.toMillis()}, new HashSet<>()));
        return id;
    }

    @Override
    public synchronized void keepAlive(long leaseId) {
        Lease lease = leases.get(leaseId);
        if (lease == null) {
            throw new StoreException(ErrorCode.METADATA_ERROR, "lease " + leaseId + " has expired or was revoked");
        }
        lease.deadline()[0] = clock.millis() + lease.ttlMillis();
    }

    @Override
    public synchronized void revokeLease(long leaseId) {
        Lease lease = leases.remove(leaseId);
        if (lease != null) {
            lease.keys().forEach(this::remove);
        }
    }

    @Override
    public AutoCloseable watchPrefix(String prefix, Consumer<WatchEvent> listener) {
        Watcher watcher = new Watcher(prefix, listener);
        watchers.add(watcher);
        return () -> watchers.remove(watcher);
    }

    @Override
    public void close() {
        expirer.shutdownNow();
        dispatcher.shutdownNow();
    }

    private void write(String key, byte[] value, long leaseId) {
        if (leaseId != 0 && !leases.containsKey(leaseId)) {
            throw new StoreException(ErrorCode.METADATA_ERROR, "lease " + leaseId + " has expired or was revoked");
        }
        KeyValue previous = data.get(key);
        if (previous != null && previous.leaseId() != 0 && leases.containsKey(previous.leaseId())) {
            leases.get(previous.leaseId()).keys().remove(key);
        }
        KeyValue entry = new KeyValue(key, value.clone(), ++revision, leaseId);
        data.put(key, entry);
        if (leaseId != 0) {
            leases.get(leaseId).keys().add(key);
        }
        publish(new WatchEvent(WatchEvent.Type.PUT, entry));
    }

    private boolean remove(String key) {
        KeyValue previous = data.remove(key);
        if (previous == null) {
            return false;
        }
        revision++;
        publish(new WatchEvent(WatchEvent.Type.DELETE, new KeyValue(key, new byte[0], revision, 0)));
        return true;
    }

    private void publish(WatchEvent event) {
        for (Watcher watcher : watchers) {
            if (event.entry().key().startsWith(watcher.prefix())) {
                dispatcher.execute(() -> watcher.listener().accept(event));
            }
        }
    }

    private synchronized void expireLeases() {
        long now = clock.millis();
        List<Long> expired = new ArrayList<>();
        leases.forEach((id, lease) -> {
            if (lease.deadline()[0] <= now) {
                expired.add(id);
            }
        });
        expired.forEach(this::revokeLease);
    }
}
