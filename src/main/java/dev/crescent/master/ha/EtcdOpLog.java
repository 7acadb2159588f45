package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.OpLog;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.ReplicatedIndex;
import dev.crescent.master.ha.OpLogStream.Batch;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The leader's op-log writer. Changes queue up while the previous batch is on its way and go out together: one
 * sequence number per batch ({@code oplog/<sequence>} holding a list of entries, {@link OpLogCodec}), not one per
 * object.
 *
 * <p>A batch is durable, and its changes acknowledged, once etcd has it or once every standby this leader streams to
 * holds it in memory ({@link StandbyLinks}; with none, only etcd counts). Etcd writes follow behind, several batches
 * per transaction, in order; the master elected after this one dies collects what the standbys hold and writes it
 * before it serves ({@link OpLogRecovery}), so an acknowledged change is lost only if this leader and every standby
 * it streamed to die together. Etcd's fsync then costs throughput nothing: acknowledgements wait one memory round
 * trip to a standby (issue 21: durability at memory speed).
 *
 * <p>Every write is created only while the leader key is still the one this master created (one etcd transaction),
 * so a deposed leader can never append: its first refused write tells it so, and it steps down. A write that fails
 * (etcd unreachable) is retried, in order, until it succeeds; meanwhile {@link #accepting()} is false and new puts
 * are refused.
 */
public final class EtcdOpLog implements OpLog, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EtcdOpLog.class);
    /** Ops per batch: keeps one batch well under etcd's 1.5 MiB request limit. */
    private static final int MAX_BATCH = 512;
    /** Batches per etcd transaction (etcd takes 128 comparisons in one: one per key, and the leader key). */
    static final int MAX_BATCHES_PER_WRITE = 64;
    /** Bytes per etcd transaction, under etcd's 1.5 MiB request limit. */
    private static final int MAX_BYTES_PER_WRITE = 1 << 20;
    /** While standbys acknowledge: how long etcd writes gather batches. */
    private static final long ETCD_WRITE_EVERY_MILLIS = 20;
    /** Batches acknowledged by standbys but not in etcd yet, at most: past it, new batches wait for etcd. */
    private static final int MAX_UNWRITTEN = 4096;
    /** How long a batch waits for a standby's acknowledgement before that standby is dropped from the set. */
    private static final long STANDBY_ACK_TIMEOUT_MILLIS = 500;

    private record Pending(OpLogEntry op, CompletableFuture<Void> durable) {}

    /** A numbered batch on its way to etcd: its bytes (as written and streamed) and its entries (for the mirror). */
    private record Unwritten(Batch batch, List<OpLogEntry> ops) {}

    private final MetadataStore store;
    private final String prefix;
    private final String leaderKey;
    private final long leaderRevision;
    private final OpLogCodec codec;
    private final Runnable onSuperseded;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    /** Numbered batches etcd does not have yet, by sequence. */
    private final ConcurrentSkipListMap<Long, Unwritten> unwritten = new ConcurrentSkipListMap<>();
    /** Signalled when etcd or a standby takes a batch, and when a batch is numbered. */
    private final Object progress = new Object();

    private final Thread batcher;
    private final Thread etcdWriter;
    private final StandbyLinks standbys;
    private volatile boolean accepting = true;
    private volatile boolean closed;
    /** The batcher's next number. */
    private long nextSequence;
    /**
     * The last batch numbered; with {@link #written}, how many etcd lacks (batches are numbered and written in
     * order: the skip list's own size is a walk of it).
     */
    private volatile long lastNumbered;
    /** The last batch etcd has; written by the etcd writer. */
    private volatile long written;

    private final ReplicatedIndex mirror;
    private final OpLogSnapshots snapshots;
    private final long snapshotEvery;
    private long opsSinceSnapshot;
    /** Entries in the last snapshot written: the log behind a snapshot grows at least as long as the snapshot. */
    private long lastSnapshotEntries;
    /** etcd's revision when the last snapshot was complete (0: none yet by this leader). */
    private long lastSnapshotRevision;

    private final LongAdder batches = new LongAdder();
    private final LongAdder batchedOps = new LongAdder();
    private final LongAdder heldByStandbys = new LongAdder();

    /** A leader whose changes are durable only once in etcd. */
    public EtcdOpLog(
            MetadataStore store,
            String prefix,
            String leaderKey,
            long leaderRevision,
            long nextSequence,
            ObjectMapper json,
            Runnable onSuperseded,
            ReplicatedIndex mirror,
            OpLogSnapshots snapshots,
            long snapshotEvery) {
        this(
                store,
                prefix,
                leaderKey,
                leaderRevision,
                nextSequence,
                json,
                onSuperseded,
                mirror,
                snapshots,
                snapshotEvery,
                null);
    }

    /**
     * @param nextSequence the first batch number this leader writes (one past the last it replayed)
     * @param onSuperseded called when another leader has written: this one must stop at once
     * @param mirror       the durable state so far (what this leader restored); kept current batch by batch and
     *                     written as a snapshot every {@code snapshotEvery} ops, or once as many ops as the last
     *                     snapshot had entries are logged if that is more (so a snapshot's cost, which grows with
     *                     the index, is spread over as many changes whatever the index's size)
     * @param standbys     the standbys whose holding a batch makes it durable; null: etcd only
     */
    EtcdOpLog(
            MetadataStore store,
            String prefix,
            String leaderKey,
            long leaderRevision,
            long nextSequence,
            ObjectMapper json,
            Runnable onSuperseded,
            ReplicatedIndex mirror,
            OpLogSnapshots snapshots,
            long snapshotEvery,
            StandbyLinks standbys) {
        this.store = store;
        this.mirror = mirror;
        this.snapshots = snapshots;
        this.snapshotEvery = snapshotEvery;
        this.prefix = prefix;
        this.leaderKey = leaderKey;
        this.leaderRevision = leaderRevision;
        this.nextSequence = nextSequence;
        this.written = nextSequence - 1;
        this.lastNumbered = nextSequence - 1;
        this.codec = new OpLogCodec(json);
        this.onSuperseded = onSuperseded;
        this.standbys = standbys;
        if (standbys != null) {
            standbys.start(
                    () -> unwritten.values().stream().map(Unwritten::batch).toList());
        }
        this.etcdWriter =
                Thread.ofPlatform().name("crescent-oplog-etcd").daemon().start(this::etcdLoop);
        this.batcher = Thread.ofPlatform().name("crescent-oplog").daemon().start(this::batchLoop);
    }

    public static String key(String prefix, long sequence) {
        return prefix + String.format("%020d", sequence);
    }

    @Override
    public CompletableFuture<Void> record(OpLogEntry op) {
        CompletableFuture<Void> durable = new CompletableFuture<>();
        if (closed) {
            durable.completeExceptionally(new StoreException(ErrorCode.NOT_LEADER, "the op-log writer is closed"));
        } else {
            queue.add(new Pending(op, durable));
        }
        return durable;
    }

    /** Op-log entries written to etcd, and the ops they carried (their ratio is the batching achieved). */
    public long batchesWritten() {
        return batches.sum();
    }

    public long opsWritten() {
        return batchedOps.sum();
    }

    /** Batches acknowledged because the standbys held them, before etcd had them. */
    public long batchesHeldByStandbys() {
        return heldByStandbys.sum();
    }

    /** The sequence of the last batch in etcd (standbys that applied it are in step with this leader). */
    public long lastWritten() {
        return written;
    }

    /** Changes waiting to be numbered, and numbered ones etcd does not have yet. */
    public int pending() {
        return queue.size()
                + unwritten.values().stream().mapToInt(u -> u.ops().size()).sum();
    }

    /** Standbys streamed to now (0: acknowledgements wait for etcd). */
    public int streamedStandbys() {
        return standbys == null ? 0 : standbys.count();
    }

    @Override
    public boolean accepting() {
        return accepting;
    }

    /**
     * Numbers batches, streams them to the standbys, and acknowledges each once durable, one batch in flight. A
     * durable batch is answered after the next batch is on its way (when changes wait to form one), so the standbys
     * take the next while this thread answers the last: answering a batch (completing its futures, each writing a
     * PutEnd's answer) is work the next batch's changes need not wait for.
     */
    private void batchLoop() {
        List<Pending> batch = new ArrayList<>();
        List<Pending> durable = new ArrayList<>();
        while (!closed) {
            try {
                Pending first = queue.poll();
                if (first == null) {
                    answer(durable); // nothing to send first
                    first = queue.take();
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                List<OpLogEntry> ops = batch.stream().map(Pending::op).toList();
                byte[] value = codec.encode(ops);
                if (lastNumbered - written >= MAX_UNWRITTEN) {
                    answer(durable); // before waiting for etcd
                    awaitRoom();
                }
                long sequence = nextSequence++;
                Batch numbered = new Batch(sequence, value);
                unwritten.put(sequence, new Unwritten(numbered, ops));
                lastNumbered = sequence;
                if (standbys != null) {
                    standbys.send(numbered);
                }
                wake();
                answer(durable);
                if (awaitDurable(sequence)) {
                    List<Pending> answered = durable;
                    durable = batch;
                    batch = answered;
                } else {
                    fail(batch, new StoreException(ErrorCode.NOT_LEADER, "this master no longer leads"));
                }
            } catch (InterruptedException e) {
                answer(durable);
                fail(batch, new StoreException(ErrorCode.NOT_LEADER, "the op-log writer is closed"));
                return;
            } catch (RuntimeException e) {
                answer(durable);
                LOG.errorf("op-log batch dropped: %s", e.getMessage());
                fail(batch, e);
            }
        }
        answer(durable);
    }

    private static void answer(List<Pending> durable) {
        durable.forEach(p -> p.durable().complete(null));
        durable.clear();
    }

    private static void fail(List<Pending> batch, Throwable why) {
        batch.forEach(p -> p.durable().completeExceptionally(why));
        batch.clear();
    }

    /** Waits while too many batches are not in etcd yet: the standbys hold them all, and must not run out. */
    private void awaitRoom() throws InterruptedException {
        synchronized (progress) {
            while (!closed && lastNumbered - written >= MAX_UNWRITTEN) {
                progress.wait(100);
            }
        }
    }

    /** @return whether batch {@code sequence} became durable (false: this master stopped leading first) */
    private boolean awaitDurable(long sequence) throws InterruptedException {
        if (standbys != null && standbys.awaitHeld(sequence, STANDBY_ACK_TIMEOUT_MILLIS)) {
            heldByStandbys.increment();
            return true;
        }
        synchronized (progress) {
            while (!closed && written < sequence) {
                progress.wait(100);
            }
        }
        return written >= sequence;
    }

    private void wake() {
        synchronized (progress) {
            progress.notifyAll();
        }
    }

    /** Writes numbered batches to etcd in order, several per transaction, and mirrors them once written. */
    private void etcdLoop() {
        while (!closed) {
            try {
                List<Unwritten> run = nextRun();
                writeUntilDone(run);
                long last = run.getLast().batch().sequence();
                for (Unwritten u : run) {
                    mirror.apply(u.batch().sequence(), u.ops());
                    batches.increment();
                    batchedOps.add(u.ops().size());
                    opsSinceSnapshot += u.ops().size();
                }
                unwritten.headMap(last, true).clear(); // before the number moves: a joining standby gets the rest
                written = last;
                wake();
                if (opsSinceSnapshot >= Math.max(snapshotEvery, lastSnapshotEntries)) {
                    snapshot();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.errorf("op-log write stopped: %s", e.getMessage());
                closed = true;
                wake();
            }
        }
    }

    /**
     * The next batches to write: the oldest unwritten, as many as one transaction takes. While standbys acknowledge,
     * nothing waits on etcd but their replay: writes are gathered for {@link #ETCD_WRITE_EVERY_MILLIS}, so etcd,
     * this leader and the standbys' replay handle a transaction per interval rather than one per batch (on a small
     * host they share the cores with the put path).
     */
    private List<Unwritten> nextRun() throws InterruptedException {
        synchronized (progress) {
            while (!closed && unwritten.isEmpty()) {
                progress.wait(100);
            }
        }
        if (standbys != null && standbys.count() > 0 && lastNumbered - written < MAX_BATCHES_PER_WRITE) {
            Thread.sleep(ETCD_WRITE_EVERY_MILLIS);
        }
        if (closed) {
            throw new InterruptedException();
        }
        List<Unwritten> run = new ArrayList<>();
        long bytes = 0;
        for (Unwritten u : unwritten.values()) {
            bytes += u.batch().value().length;
            if (!run.isEmpty() && (run.size() == MAX_BATCHES_PER_WRITE || bytes > MAX_BYTES_PER_WRITE)) {
                break;
            }
            run.add(u);
        }
        return run;
    }

    /** Retries one run until it is written; ends the leadership when a successor already wrote these numbers. */
    private void writeUntilDone(List<Unwritten> run) throws InterruptedException {
        List<KeyValue> entries =
                run.stream().map(u -> entryOf(prefix, u.batch())).toList();
        while (!closed) {
            try {
                if (!store.createGuarded(leaderKey, leaderRevision, entries) && !landed(store, entries.getFirst())) {
                    closed = true;
                    LOG.errorf(
                            "op-log entry %d refused: this master no longer holds the leader key",
                            run.getFirst().batch().sequence());
                    onSuperseded.run();
                    throw new StoreException(ErrorCode.NOT_LEADER, "another master leads now");
                }
                accepting = true;
                return;
            } catch (StoreException e) {
                if (e.code() == ErrorCode.NOT_LEADER) {
                    throw e;
                }
                accepting = false;
                LOG.warnf("op-log write failed (%s); retrying", e.getMessage());
                TimeUnit.MILLISECONDS.sleep(200);
            }
        }
        throw new InterruptedException();
    }

    /** Writes the state up to the last batch as a snapshot and compacts the log behind it. */
    private void snapshot() {
        long covered = written;
        try {
            List<OpLogEntry> state = mirror.asEntries();
            long revision = snapshots.write(covered, state);
            opsSinceSnapshot = 0;
            lastSnapshotEntries = state.size();
            LOG.infof("op-log compacted: snapshot at entry %d", covered);
            forgetHistoryBefore(lastSnapshotRevision);
            lastSnapshotRevision = revision;
        } catch (StoreException e) {
            LOG.warnf("snapshot at entry %d failed (%s); the log stays until the next try", covered, e.getMessage());
        }
    }

    /**
     * Has etcd forget the history before {@code revision}: every log batch and snapshot chunk written and deleted
     * stays in etcd's history, counted against its space quota (2 GiB by default), until compacted: under
     * {@code bin/bench ha} etcd's database grew by 110 MB in 17 s, so the quota would be reached in about five
     * minutes, after which etcd refuses every write. With this it stayed at 30 MB. The previous
     * snapshot's revision, not this one's: a watcher a little behind (a standby's tailer reconnecting) still finds
     * the revisions it resumes from.
     */
    private void forgetHistoryBefore(long revision) {
        if (revision <= 0) {
            return;
        }
        try {
            store.compact(revision);
        } catch (StoreException e) {
            LOG.warnf(
                    "etcd history not compacted to revision %d (%s); the next snapshot compacts past it",
                    revision, e.getMessage());
        }
    }

    /** The etcd entry of a numbered batch: its key under {@code prefix}, its bytes. */
    static KeyValue entryOf(String prefix, Batch batch) {
        return new KeyValue(key(prefix, batch.sequence()), batch.value(), 0, 0);
    }

    /**
     * Whether {@code entry} is in etcd already, with exactly its bytes: a write that timed out may still have landed
     * (the etcd client retries on its own), and so may the old leader's write of a batch its successor recovered.
     * A transaction writes all its entries or none, so its first entry answers for all of them.
     */
    static boolean landed(MetadataStore store, KeyValue entry) {
        return store.get(entry.key())
                .map(kv -> Arrays.equals(kv.value(), entry.value()))
                .orElse(false);
    }

    @Override
    public void close() {
        closed = true;
        batcher.interrupt();
        etcdWriter.interrupt();
        if (standbys != null) {
            standbys.close();
        }
    }
}
