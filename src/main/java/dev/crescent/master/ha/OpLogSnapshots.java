package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.OpLogEntry;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Compacted snapshots of the op-log, so a standby replays a bounded log: the whole replicated state at sequence S is
 * written as chunks ({@code snapshot/<S>/<n>}, each a list of ops in {@link OpLogCodec}'s form, well under etcd's
 * request limit) and then a {@code snapshot/<S>/done} marker; only then are older snapshots and the log entries up
 * to S deleted. A snapshot without its marker (the writer died half-way) is ignored.
 */
public final class OpLogSnapshots {
    /** Ops per chunk: about 100 KiB. */
    static final int CHUNK_OPS = 1024;

    private static final String DONE = "done";

    /** A snapshot as read back: the sequence it covers and the ops that rebuild the state. */
    public record Loaded(long sequence, List<OpLogEntry> ops) {}

    private final MetadataStore store;
    private final String snapshots;
    private final String oplog;
    private final OpLogCodec codec;

    public OpLogSnapshots(MetadataStore store, String snapshots, String oplog, ObjectMapper json) {
        this.store = store;
        this.snapshots = snapshots;
        this.oplog = oplog;
        this.codec = new OpLogCodec(json);
    }

    /**
     * Writes the state at {@code sequence}, then drops older snapshots and the log entries it covers.
     *
     * @return the store's revision once the snapshot was complete
     */
    public long write(long sequence, List<OpLogEntry> state) {
        String base = EtcdOpLog.key(snapshots, sequence) + "/";
        int chunks = 0;
        for (int from = 0; from < state.size(); from += CHUNK_OPS) {
            List<OpLogEntry> chunk = state.subList(from, Math.min(state.size(), from + CHUNK_OPS));
            store.put(base + String.format("%06d", chunks++), codec.encode(chunk), 0);
        }
        long complete = store.put(base + DONE, Integer.toString(chunks).getBytes(StandardCharsets.UTF_8), 0);
        store.deleteRange(snapshots, base);
        store.deleteRange(oplog, EtcdOpLog.key(oplog, sequence + 1));
        return complete;
    }

    /** The newest complete snapshot, if any. */
    public Optional<Loaded> latest() {
        TreeMap<Long, TreeMap<String, byte[]>> bySequence = new TreeMap<>();
        for (KeyValue entry : store.getPrefix(snapshots)) {
            String rest = entry.key().substring(snapshots.length());
            int slash = rest.indexOf('/');
            if (slash <= 0) {
                continue;
            }
            try {
                bySequence
                        .computeIfAbsent(Long.parseLong(rest.substring(0, slash)), s -> new TreeMap<>())
                        .put(rest.substring(slash + 1), entry.value());
            } catch (NumberFormatException ignored) {
                // Not a snapshot key.
            }
        }
        for (Long sequence : bySequence.descendingKeySet()) {
            TreeMap<String, byte[]> parts = bySequence.get(sequence);
            byte[] done = parts.remove(DONE);
            if (done == null || Integer.parseInt(new String(done, StandardCharsets.UTF_8)) != parts.size()) {
                continue;
            }
            List<OpLogEntry> ops = new ArrayList<>();
            try {
                for (byte[] chunk : parts.values()) {
                    ops.addAll(codec.decode(chunk));
                }
            } catch (IOException e) {
                throw new StoreException(ErrorCode.METADATA_ERROR, "unreadable snapshot " + sequence, e);
            }
            return Optional.of(new Loaded(sequence, ops));
        }
        return Optional.empty();
    }
}
