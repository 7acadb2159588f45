package dev.crescent.master.ha;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.OpLog;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.ReplicatedIndex;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The leader's op-log writer. Changes queue up while the previous write is in flight and go out together: one etcd
 * write per batch ({@code oplog/<sequence>} holding a JSON list of entries), not one per object. Each batch key
 * is created only while the leader key is still the one this master created (one etcd transaction), so a deposed
 * leader can never append: its first refused write tells it so, and it steps down. A write that fails (etcd
 * unreachable) is retried, in order, until it succeeds; meanwhile {@link #accepting()} is false and new puts are
 * refused.
 */
public final class EtcdOpLog implements OpLog, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EtcdOpLog.class);
    /** Ops per batch: keeps one write well under etcd's 1.5 MiB request limit. */
    private static final int MAX_BATCH = 512;

    private record Pending(OpLogEntry op, CompletableFuture<Void> durable) {}

    private final MetadataStore store;
    private final String prefix;
    private final String leaderKey;
    private final long leaderRevision;
    private final OpLogCodec codec;
    private final Runnable onSuperseded;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean accepting = true;
    private volatile boolean closed;
    /** Written by the writer thread, read by metrics. */
    private volatile long nextSequence;

    private final ReplicatedIndex mirror;
    private final OpLogSnapshots snapshots;
    private final long snapshotEvery;
    private long opsSinceSnapshot;
    private final LongAdder batches = new LongAdder();
    private final LongAdder batchedOps = new LongAdder();

    /**
     * @param nextSequence the first batch number this leader writes (one past the last it replayed)
     * @param onSuperseded called when another leader has written: this one must stop at once
     */
    /**
     * @param mirror        the durable state so far (what this leader restored); kept current batch by batch and
     *                      written as a snapshot every {@code snapshotEvery} ops
     */
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
        this.store = store;
        this.mirror = mirror;
        this.snapshots = snapshots;
        this.snapshotEvery = snapshotEvery;
        this.prefix = prefix;
        this.leaderKey = leaderKey;
        this.leaderRevision = leaderRevision;
        this.nextSequence = nextSequence;
        this.codec = new OpLogCodec(json);
        this.onSuperseded = onSuperseded;
        this.writer = Thread.ofPlatform().name("crescent-oplog").daemon().start(this::writeLoop);
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

    /** Op-log entries written, and the ops they carried (their ratio is the batching achieved). */
    public long batchesWritten() {
        return batches.sum();
    }

    public long opsWritten() {
        return batchedOps.sum();
    }

    /** The sequence of the last batch written (standbys that applied it are in step with this leader). */
    public long lastWritten() {
        return nextSequence - 1;
    }

    /** Changes waiting for the next etcd write. */
    public int pending() {
        return queue.size();
    }

    @Override
    public boolean accepting() {
        return accepting;
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        while (!closed) {
            try {
                batch.add(queue.take());
                queue.drainTo(batch, MAX_BATCH - 1);
                byte[] value = codec.encode(batch.stream().map(Pending::op).toList());
                writeUntilDone(value);
                batches.increment();
                batchedOps.add(batch.size());
                batch.forEach(p -> p.durable().complete(null));
                mirror.apply(nextSequence - 1, batch.stream().map(Pending::op).toList());
                opsSinceSnapshot += batch.size();
                batch.clear();
                if (opsSinceSnapshot >= snapshotEvery) {
                    snapshot();
                }
            } catch (InterruptedException e) {
                return;
            } catch (JsonProcessingException | RuntimeException e) {
                LOG.errorf("op-log batch dropped: %s", e.getMessage());
                batch.forEach(p -> p.durable().completeExceptionally(e));
                batch.clear();
            }
        }
    }

    /** Retries one batch until it is written; ends the leadership when a successor already wrote this number. */
    private void writeUntilDone(byte[] value) throws InterruptedException {
        while (!closed) {
            try {
                if (!store.createGuarded(leaderKey, leaderRevision, key(prefix, nextSequence), value)
                        && !landedEarlier(value)) {
                    closed = true;
                    LOG.errorf("op-log entry %d refused: this master no longer holds the leader key", nextSequence);
                    onSuperseded.run();
                    throw new StoreException(ErrorCode.NOT_LEADER, "another master leads now");
                }
                nextSequence++;
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
    }

    /** Writes the state up to the last batch as a snapshot and compacts the log behind it. */
    private void snapshot() {
        long covered = nextSequence - 1;
        try {
            snapshots.write(covered, mirror.asEntries());
            opsSinceSnapshot = 0;
            LOG.infof("op-log compacted: snapshot at entry %d", covered);
        } catch (StoreException e) {
            LOG.warnf("snapshot at entry %d failed (%s); the log stays until the next try", covered, e.getMessage());
        }
    }

    /**
     * A write that timed out may still have landed (the etcd client retries on its own): then the entry holds
     * exactly this batch, and it is ours.
     */
    private boolean landedEarlier(byte[] value) {
        return store.get(key(prefix, nextSequence))
                .map(kv -> Arrays.equals(kv.value(), value))
                .orElse(false);
    }

    @Override
    public void close() {
        closed = true;
        writer.interrupt();
    }
}
