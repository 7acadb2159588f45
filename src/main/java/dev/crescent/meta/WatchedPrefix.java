package dev.crescent.meta;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The entries under one metadata prefix, decoded and kept current by a watch: reading is a map lookup, and
 * changes made by any node (or a lease running out) are seen without polling.
 *
 * @param <T> the decoded value
 */
public final class WatchedPrefix<T> implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WatchedPrefix.class);

    /** Turns a stored value into T; an exception makes the entry ignored (logged), not fatal. */
    @FunctionalInterface
    public interface Decoder<T> {
        T decode(byte[] value) throws IOException;
    }

    private final ConcurrentHashMap<String, Versioned<T>> byName = new ConcurrentHashMap<>();
    private final String prefix;
    private final MetadataStore store;
    private final Decoder<T> decoder;
    private final Runnable onChange;
    private final AutoCloseable watch;

    /**
     * @param onChange called after every applied change (and once after the initial listing)
     */
    public WatchedPrefix(MetadataStore store, String prefix, Decoder<T> decoder, Runnable onChange) {
        this.store = store;
        this.prefix = prefix;
        this.decoder = decoder;
        this.onChange = onChange;
        // Watch first, then list: a change landing in between is applied twice, never lost.
        this.watch = store.watchPrefix(prefix, this::apply);
        store.getPrefix(prefix).forEach(this::put);
        onChange.run();
    }

    /** The live value under {@code prefix + name}, or null. */
    public T get(String name) {
        Versioned<T> current = byName.get(name);
        return current == null ? null : current.value();
    }

    /** Live values by name, in name order. */
    public Map<String, T> all() {
        Map<String, T> live = new TreeMap<>();
        byName.forEach((name, v) -> {
            if (v.value() != null) {
                live.put(name, v.value());
            }
        });
        return live;
    }

    /**
     * Stores {@code value} as {@code name} and waits until this view has applied it: in force on this node before
     * the caller hears back (other nodes follow through their watches).
     *
     * @throws StoreException METADATA_ERROR when the change did not arrive within {@code timeout}
     */
    public void write(String name, byte[] value, Duration timeout) {
        long revision = store.put(prefix + name, value, 0);
        if (!awaitRevision(name, revision, timeout)) {
            throw new StoreException(
                    ErrorCode.METADATA_ERROR,
                    "'" + name + "' was stored but its change did not arrive within " + timeout);
        }
    }

    /**
     * Deletes {@code name} and waits until this view no longer has it.
     *
     * @return whether it existed
     * @throws StoreException METADATA_ERROR when the change did not arrive within {@code timeout}
     */
    public boolean delete(String name, Duration timeout) {
        boolean existed = store.delete(prefix + name);
        if (existed && !awaitAbsent(name, timeout)) {
            throw new StoreException(
                    ErrorCode.METADATA_ERROR,
                    "'" + name + "' was deleted but the change did not arrive within " + timeout);
        }
        return existed;
    }

    /**
     * Waits until the watch has applied a change of {@code name} made at {@code revision} or later (watches are
     * asynchronous: this gives read-your-writes to the node that wrote).
     *
     * @return whether it was applied within {@code timeout}
     */
    public boolean awaitRevision(String name, long revision, Duration timeout) {
        return await(
                () -> {
                    Versioned<T> current = byName.get(name);
                    return current != null && current.revision() >= revision;
                },
                timeout);
    }

    /** Waits until {@code name} has no live value here; @return whether that happened within {@code timeout} */
    public boolean awaitAbsent(String name, Duration timeout) {
        return await(() -> get(name) == null, timeout);
    }

    private synchronized boolean await(BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private synchronized void applied() {
        notifyAll();
    }

    private void apply(WatchEvent event) {
        if (event.type() == WatchEvent.Type.PUT) {
            put(event.entry());
        } else {
            // A tombstone, so an older listing applied late cannot bring the entry back.
            keepNewest(
                    event.entry().key().substring(prefix.length()),
                    new Versioned<>(null, event.entry().modRevision()));
        }
        onChange.run();
        applied();
    }

    private void put(KeyValue entry) {
        try {
            keepNewest(
                    entry.key().substring(prefix.length()),
                    new Versioned<>(decoder.decode(entry.value()), entry.modRevision()));
        } catch (IOException | RuntimeException e) {
            LOG.warnf("ignoring unreadable entry %s: %s", entry.key(), e.getMessage());
        }
    }

    /** Events and the initial listing may arrive in any order: the higher store revision wins. */
    private void keepNewest(String name, Versioned<T> candidate) {
        byName.merge(name, candidate, (old, fresh) -> fresh.revision() >= old.revision() ? fresh : old);
    }

    private record Versioned<T>(T value, long revision) {}

    @Override
    public void close() {
        try {
            watch.close();
        } catch (Exception ignored) {
            // The store is going away too.
        }
    }
}
