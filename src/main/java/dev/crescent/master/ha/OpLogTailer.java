package dev.crescent.master.ha;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.master.IndexOp;
import dev.crescent.master.ReplicatedIndex;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.WatchEvent;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.util.List;
import java.util.TreeMap;

/**
 * A standby's view of the op-log: replays every batch, in sequence order, into a {@link ReplicatedIndex}, first
 * what is there and then what the leader appends (watched), so the standby holds a hot copy of the index.
 */
public final class OpLogTailer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OpLogTailer.class);
    private static final TypeReference<List<IndexOp>> BATCH = new TypeReference<>() {
    };

    private final MetadataStore store;
    private final String prefix;
    private final ObjectMapper json;
    private final ReplicatedIndex index = new ReplicatedIndex();
    /** Batches that arrived ahead of a gap, by sequence. */
    private final TreeMap<Long, List<IndexOp>> early = new TreeMap<>();
    private final AutoCloseable watch;
    private long applied;

    public OpLogTailer(MetadataStore store, String prefix, ObjectMapper json) {
        this.store = store;
        this.prefix = prefix;
        this.json = json;
        // Watch first, then list: a batch landing in between arrives twice and is applied once.
        this.watch = store.watchPrefix(prefix, this::onEvent);
        catchUp();
    }

    public ReplicatedIndex index() {
        return index;
    }

    /** The last batch applied; the next leader writes from one past it. */
    public synchronized long appliedSequence() {
        return applied;
    }

    /** Reads and applies every batch not applied yet (before promotion: nothing the old leader wrote is missed). */
    public synchronized void catchUp() {
        for (KeyValue entry : store.getPrefix(prefix)) {
            offer(entry);
        }
    }

    private synchronized void onEvent(WatchEvent event) {
        if (event.type() == WatchEvent.Type.PUT) {
            offer(event.entry());
        }
    }

    private void offer(KeyValue entry) {
        long sequence;
        try {
            sequence = Long.parseLong(entry.key().substring(prefix.length()));
        } catch (NumberFormatException e) {
            return;
        }
        if (sequence <= applied) {
            return;
        }
        try {
            early.put(sequence, json.readValue(entry.value(), BATCH));
        } catch (IOException e) {
            LOG.errorf("unreadable op-log entry %s: %s", entry.key(), e.getMessage());
            return;
        }
        while (!early.isEmpty() && early.firstKey() == applied + 1) {
            early.pollFirstEntry().getValue().forEach(index::apply);
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
