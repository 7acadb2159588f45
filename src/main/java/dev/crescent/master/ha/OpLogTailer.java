package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.master.EventJournal;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.ReplicatedIndex;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchEvent;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A standby's view of the op-log: replays every batch, in sequence order, into a {@link ReplicatedIndex}, first
 * what is there and then what the leader appends (watched), so the standby holds a hot copy of the index.
 */
public final class OpLogTailer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OpLogTailer.class);

    private final MetadataStore store;
    private final String prefix;
    private final OpLogCodec codec;
    private final OpLogSnapshots snapshots;
    private final ReplicatedIndex index;
    /** Batches that arrived ahead of a gap, by sequence. */
    private final TreeMap<Long, List<OpLogEntry>> early = new TreeMap<>();

    private final AutoCloseable watch;
    /** Written under this object's lock; read without it (a standby's replica asks on every batch it takes). */
    private volatile long applied;

    /** @param events where the replayed changes are journaled as object events */
    public OpLogTailer(
            MetadataStore store, String prefix, OpLogSnapshots snapshots, ObjectMapper json, EventJournal events) {
        this.index = new ReplicatedIndex(events);
        this.store = store;
        this.prefix = prefix;
        this.snapshots = snapshots;
        this.codec = new OpLogCodec(json);
        // Watch first, then list: a batch landing in between arrives twice and is applied once.
        this.watch = store.watchPrefix(prefix, this::onEvent);
        catchUp();
    }

    public ReplicatedIndex index() {
        return index;
    }

    /** The last batch applied; the next leader writes from one past it. */
    public long appliedSequence() {
        return applied;
    }

    /**
     * Reads and applies every batch not applied yet (before promotion: nothing the old leader wrote is missed),
     * starting from the newest snapshot when it covers more than was applied (at start, or after the log behind a
     * lagging standby was compacted away).
     */
    public void catchUp() {
        // etcd is read outside the lock: the watch delivers on the etcd client's thread, which would otherwise wait
        // for the lock while this waits for an answer that same thread delivers.
        List<KeyValue> log = store.getPrefix(prefix);
        long firstInLog = log.isEmpty() ? Long.MAX_VALUE : sequenceOf(log.getFirst());
        Optional<OpLogSnapshots.Loaded> snapshot = firstInLog > applied + 1 ? snapshots.latest() : Optional.empty();
        synchronized (this) {
            snapshot.filter(s -> firstInLog > applied + 1 && s.sequence() > applied)
                    .ifPresent(s -> {
                        index.reset(s.sequence(), s.ops());
                        applied = s.sequence();
                        early.headMap(applied + 1).clear();
                    });
            for (KeyValue entry : log) {
                offer(entry);
            }
        }
    }

    private long sequenceOf(KeyValue entry) {
        try {
            return Long.parseLong(entry.key().substring(prefix.length()));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    private synchronized void onEvent(WatchEvent event) {
        if (event.type() == WatchEvent.Type.PUT) {
            offer(event.entry());
        }
    }

    private void offer(KeyValue entry) {
        long sequence = sequenceOf(entry);
        if (sequence == Long.MAX_VALUE || sequence <= applied) {
            return;
        }
        try {
            early.put(sequence, codec.decode(entry.value()));
        } catch (IOException e) {
            LOG.errorf("unreadable op-log entry %s: %s", entry.key(), e.getMessage());
            return;
        }
        while (!early.isEmpty() && early.firstKey() == applied + 1) {
            index.apply(applied + 1, early.pollFirstEntry().getValue());
            applied++;
        }
    }

    @Override
    public void close() {
        try {
            watch.close();
        } catch (Exception ignored) {
            // The store is going away too.
        }
    }
}
