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
    private final Map<String, OpLogEntry.Mount> segments = new LinkedHashMap<>();
    private final Map<String, OpLogEntry.Commit> objects = new LinkedHashMap<>();

    public synchronized void apply(OpLogEntry entry) {
        switch (entry) {
            case OpLogEntry.Mount mount -> segments.put(mount.segment(), mount);
            case OpLogEntry.Unmount unmount -> dropSegment(unmount.segment());
            case OpLogEntry.Commit commit -> objects.put(commit.key(), commit);
            case OpLogEntry.Drop drop -> objects.remove(drop.key());
        }
    }

    private void dropSegment(String segment) {
        segments.remove(segment);
        List<String> emptied = new ArrayList<>();
        objects.replaceAll((key, commit) -> {
            List<OpLogEntry.Range> kept = commit.replicas().stream()
                    .filter(r -> !r.segment().equals(segment))
                    .toList();
            if (kept.isEmpty()) {
                emptied.add(key);
            }
            return kept.size() == commit.replicas().size() ? commit : commit.withReplicas(kept);
        });
        emptied.forEach(objects::remove);
    }

    /** Replaces everything with the state {@code entries} describe (a snapshot). */
    public synchronized void reset(Collection<OpLogEntry> entries) {
        segments.clear();
        objects.clear();
        entries.forEach(this::apply);
    }

    /** The whole state as entries that rebuild it: segments first, then objects. */
    public synchronized List<OpLogEntry> asEntries() {
        List<OpLogEntry> entries = new ArrayList<>(segments.values());
        entries.addAll(objects.values());
        return entries;
    }

    public synchronized Collection<OpLogEntry.Mount> segments() {
        return List.copyOf(segments.values());
    }

    public synchronized Collection<OpLogEntry.Commit> objects() {
        return List.copyOf(objects.values());
    }
}
