package dev.crescent.master.ha;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.ha.OpLogStream.Batch;
import dev.crescent.meta.KeyValue;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * What a newly elected master does before it serves, when the last leader acknowledged changes once its standbys
 * held them: it collects every batch past its own replay of etcd from itself and from every other standby (which
 * fences them against the old leader), and writes the unbroken run after its replay to etcd under its own leader
 * key. A standby that cannot be reached is skipped: it holds nothing another standby does not, unless it was the
 * only one the old leader streamed to.
 */
final class OpLogRecovery {
    private static final Logger LOG = Logger.getLogger(OpLogRecovery.class);
    private static final int TIMEOUT_MILLIS = 2_000;

    private OpLogRecovery() {}

    /**
     * @param own     this master's replica (its own held batches)
     * @param ownKey  this master's key under {@code oplog-replicas/} (not asked over the network)
     * @param token   the token this master wrote as the new leader
     * @return the batches past {@code after}, in order and without a gap
     */
    static List<Batch> collect(
            MetadataStore store,
            String replicasPrefix,
            String ownKey,
            OpLogReplica own,
            byte[] token,
            long after,
            ReplicationSockets sockets) {
        TreeMap<Long, byte[]> found = new TreeMap<>();
        own.heldAfter(after).forEach(b -> found.put(b.sequence(), b.value()));
        for (KeyValue replica : store.getPrefix(replicasPrefix)) {
            if (replica.key().equals(ownKey)) {
                continue;
            }
            String address = new String(replica.value(), StandardCharsets.UTF_8);
            try {
                fetch(sockets, address, token, after).forEach(b -> found.putIfAbsent(b.sequence(), b.value()));
            } catch (IOException | RuntimeException e) {
                LOG.warnf("op-log batches of standby %s not collected: %s", address, e.getMessage());
            }
        }
        List<Batch> run = new ArrayList<>();
        for (long next = after + 1; found.containsKey(next); next++) {
            run.add(new Batch(next, found.get(next)));
        }
        if (run.size() < found.tailMap(after, false).size()) {
            LOG.errorf(
                    "op-log batches past %d are missing: %d held batches after the gap are not replayed",
                    after + run.size(), found.tailMap(after, false).size() - run.size());
        }
        return run;
    }

    private static List<Batch> fetch(ReplicationSockets sockets, String address, byte[] token, long after)
            throws IOException {
        try (Socket socket = sockets.connect(address, TIMEOUT_MILLIS, 0)) {
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            OpLogStream.writeOpening(out, OpLogStream.FETCH, token);
            out.writeLong(after);
            out.flush();
            if (in.readByte() != OpLogStream.ACCEPTED) {
                throw new IOException("refused (it has not seen this master's token in etcd)");
            }
            return OpLogStream.readBatches(in);
        }
    }

    /**
     * Writes {@code run} to etcd as this leader's, a transaction at a time; a batch the old leader's write already
     * put there (the same bytes) is left as it is.
     *
     * @throws StoreException NOT_LEADER when another master leads meanwhile
     */
    static void write(MetadataStore store, String leaderKey, long leaderRevision, String prefix, List<Batch> run) {
        for (int from = 0; from < run.size(); from += EtcdOpLog.MAX_BATCHES_PER_WRITE) {
            List<KeyValue> chunk =
                    run.subList(from, Math.min(run.size(), from + EtcdOpLog.MAX_BATCHES_PER_WRITE)).stream()
                            .map(b -> EtcdOpLog.entryOf(prefix, b))
                            .toList();
            if (store.createGuarded(leaderKey, leaderRevision, chunk)) {
                continue;
            }
            for (KeyValue entry : chunk) {
                if (!store.createGuarded(leaderKey, leaderRevision, List.of(entry))
                        && !EtcdOpLog.landed(store, entry)) {
                    throw new StoreException(
                            ErrorCode.NOT_LEADER, "another master leads now: op-log entry " + entry.key() + " taken");
                }
            }
        }
    }
}
