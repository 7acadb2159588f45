package dev.crescent.master;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A standby's copy of what the leader made durable: mounted segments and complete objects, kept current by
 * replaying the op-log. On promotion the master is rebuilt from it ({@link Master#restore}).
 */
public final class ReplicatedIndex {
    private final Map<String, IndexOp> segments = new LinkedHashMap<>();
    private final Map<String, IndexOp> objects = new LinkedHashMap<>();

    public synchronized void apply(IndexOp op) {
        switch (op.type()) {
            case MOUNT -> segments.put(op.segment(), op);
            case UNMOUNT -> {
                segments.remove(op.segment());
                List<String> emptied = new ArrayList<>();
                objects.replaceAll((key, commit) -> {
                    List<IndexOp.Range> kept = commit.replicas().stream()
                            .filter(r -> !r.segment().equals(op.segment())).toList();
                    if (kept.isEmpty()) {
                        emptied.add(key);
                    }
                    return kept.size() == commit.replicas().size() ? commit : IndexOp.commit(commit.key(),
                            commit.size(), commit.owner(), kept, commit.hardPin(), commit.softPin(),
                            commit.completedMillis(), commit.crc32c());
                });
                emptied.forEach(objects::remove);
            }
            case COMMIT -> objects.put(op.key(), op);
            case DROP -> objects.remove(op.key());
        }
    }

    /** Replaces everything with the state {@code ops} describe (a snapshot). */
    public synchronized void reset(Collection<IndexOp> ops) {
        segments.clear();
        objects.clear();
        ops.forEach(this::apply);
    }

    /** The whole state as ops that rebuild it: segments first, then objects. */
    public synchronized List<IndexOp> asOps() {
        List<IndexOp> ops = new ArrayList<>(segments.values());
        ops.addAll(objects.values());
        return ops;
    }

    public synchronized Collection<IndexOp> segments() {
        return List.copyOf(segments.values());
    }

    public synchronized Collection<IndexOp> objects() {
        return List.copyOf(objects.values());
    }
}
