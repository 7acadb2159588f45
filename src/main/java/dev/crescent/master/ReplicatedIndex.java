package dev.crescent.master;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A standby's copy of what the leader made durable: mounted segments and complete objects, kept current by
 * replaying the op-log. On promotion the master is rebuilt from it ({@link Master#restore}), and as the leader's
 * mirror it goes on following what becomes durable. Both ways, each op-log entry applied becomes the object events
 * it means, numbered by the entry, so every master of the cluster journals the same events under the same numbers.
 */
public final class ReplicatedIndex {
    private final Map<String, OpLogEntry.Mount> segments = new LinkedHashMap<>();
    private final Map<String, OpLogEntry.Commit> objects = new LinkedHashMap<>();
    /** Where the events go; null: none are kept. */
    private final EventJournal events;
    /** The last op-log entry applied (or covered by the snapshot reset from). */
    private long lastBatch = -1;

    public ReplicatedIndex() {
        this(null);
    }

    public ReplicatedIndex(EventJournal events) {
        this.events = events;
    }

    /**
     * Applies op-log entry {@code batch} and journals its events; an entry already applied (a watch delivering late
     * what a promoted standby's own op-log wrote) is ignored, so nothing is applied or journaled twice.
     */
    public synchronized void apply(long batch, List<OpLogEntry> entries) {
        if (batch <= lastBatch) {
            return;
        }
        lastBatch = batch;
        List<ObjectEvent> happened = new ArrayList<>();
        for (OpLogEntry entry : entries) {
            apply(
                    entry,
                    (kind, commit) -> happened.add(new ObjectEvent(
                            ObjectEvent.sequence(batch, happened.size()),
                            kind,
                            commit.key(),
                            commit.size(),
                            commit.segments())));
        }
        if (events != null) {
            events.appendBatch(batch, happened);
        }
    }

    public synchronized void apply(OpLogEntry entry) {
        apply(entry, (kind, commit) -> {});
    }

    /** What an applied entry did to a complete object. */
    private interface Effect {
        void on(ObjectEvent.Kind kind, OpLogEntry.Commit object);
    }

    private void apply(OpLogEntry entry, Effect effect) {
        switch (entry) {
            case OpLogEntry.Mount mount -> segments.put(mount.segment(), mount);
            case OpLogEntry.Unmount unmount ->
                dropSegment(unmount.segment()).forEach(gone -> effect.on(ObjectEvent.Kind.REMOVED, gone));
            case OpLogEntry.Commit commit -> {
                objects.put(commit.key(), commit);
                effect.on(ObjectEvent.Kind.STORED, commit);
            }
            case OpLogEntry.Move move ->
                objects.computeIfPresent(move.key(), (key, commit) -> commit.withReplicas(move.replicas()));
            case OpLogEntry.Drop drop -> {
                OpLogEntry.Commit gone = objects.remove(drop.key());
                if (gone != null) {
                    effect.on(drop.kind(), gone);
                }
            }
        }
    }

    /** @return the objects that had no replica elsewhere (now gone) */
    private List<OpLogEntry.Commit> dropSegment(String segment) {
        segments.remove(segment);
        List<OpLogEntry.Commit> emptied = new ArrayList<>();
        objects.replaceAll((key, commit) -> {
            List<OpLogEntry.Range> kept = commit.replicas().stream()
                    .filter(r -> !r.segment().equals(segment))
                    .toList();
            if (kept.isEmpty()) {
                emptied.add(commit);
            }
            return kept.size() == commit.replicas().size() ? commit : commit.withReplicas(kept);
        });
        emptied.forEach(commit -> objects.remove(commit.key()));
        return emptied;
    }

    /** Replaces everything with the state {@code entries} describe (a snapshot covering op-log entry {@code batch}). */
    public synchronized void reset(long batch, Collection<OpLogEntry> entries) {
        segments.clear();
        objects.clear();
        entries.forEach(this::apply);
        lastBatch = Math.max(lastBatch, batch);
        if (events != null) {
            events.restartAfter(ObjectEvent.lastOf(batch));
        }
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
