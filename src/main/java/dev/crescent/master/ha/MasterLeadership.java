package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.Leadership;
import dev.crescent.master.Master;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Whether this process may act as the master. A master over etcd campaigns for leadership and serves only while
 * it leads; the others are standbys that answer NOT_LEADER with the leader's address and replay the leader's
 * op-log, so the one elected next starts from every acknowledged object. A master on the embedded
 * store is alone and always leads. A leader that loses its lease exits (status 3) so its supervisor restarts it
 * as a clean standby: it must never serve next to the new leader.
 */
public final class MasterLeadership implements Leadership {
    private static final Logger LOG = Logger.getLogger(MasterLeadership.class);
    /** Exit status of a master that lost leadership. */
    public static final int DEMOTED_EXIT = 3;

    private final HaSettings settings;
    private final MetadataStore store;
    private final MetadataKeys keys;
    private final Master master;
    private final ObjectMapper json;
    private volatile LeaderElection election;
    private volatile OpLogTailer tailer;
    private volatile OpLogSnapshots snapshots;
    private volatile EtcdOpLog opLog;
    private volatile MasterRoster roster;
    /** This master's copy of the leader's batches not yet in etcd, while it is a standby (with standby acks). */
    private volatile OpLogReplica replica;
    /** host:port clients reach this master at (known once it campaigns). */
    private volatile Supplier<String> advertised;
    /** Set once a new leader has restored the replicated index: only then does it serve. */
    private volatile boolean serving;
    /** Called with the reason when this leader lost its lease: the process must stop serving at once. */
    private final Consumer<String> onDemoted;

    /**
     * @param onDemoted stops the process (a demoted leader must never serve next to the new one); its supervisor
     *                  restarts it as a clean standby
     */
    public MasterLeadership(
            HaSettings settings,
            MetadataStore store,
            MetadataKeys keys,
            Master master,
            ObjectMapper json,
            Consumer<String> onDemoted) {
        this.settings = settings;
        this.master = master;
        this.json = json;
        this.store = store;
        this.keys = keys;
        this.onDemoted = onDemoted;
        master.attachLeadership(this);
    }

    /**
     * Campaigns for leadership (when this master elects at all). Call once the service listens: only then is there
     * an address to publish, and a service behind it.
     *
     * @param advertisedAddress host:port clients reach this master at
     */
    public void start(Supplier<String> advertisedAddress) {
        if (!settings.elects()) {
            return;
        }
        // A standby keeps a hot copy of the leader's index by replaying its op-log, and journals its events under
        // the cluster's stream: a watcher resumes on whichever master leads next.
        advertised = advertisedAddress;
        snapshots = new OpLogSnapshots(store, keys.snapshots(), keys.oplog(), json);
        master.events().joinStream("cluster/" + keys.cluster());
        OpLogTailer following = new OpLogTailer(store, keys.oplog(), snapshots, json, master.events());
        tailer = following;
        if (settings.standbyAcks()) {
            try {
                replica = new OpLogReplica(
                        settings.replicationPort(),
                        store,
                        keys.oplogToken(),
                        following::appliedSequence,
                        settings.replication());
            } catch (IOException e) {
                throw new UncheckedIOException("op-log replication port " + settings.replicationPort(), e);
            }
        }
        election = new LeaderElection(
                store, keys.leader(), advertisedAddress, settings.leaderTtl(), new LeaderElection.Listener() {
                    @Override
                    public void elected() {
                        takeOver();
                    }

                    @Override
                    public void demoted(String why) {
                        exit(why);
                    }
                });
        election.start();
        roster = new MasterRoster(store, keys, advertisedAddress, settings.leaderTtl(), () -> {
            OpLogReplica listening = replica;
            return listening == null ? null : hostOf(advertisedAddress.get()) + ":" + listening.port();
        });
        roster.start();
    }

    /**
     * Every live master of the cluster as {@code address -> leads}, in address order; empty when this master does
     * not elect (standalone, or a master without etcd), and while etcd cannot be reached.
     */
    public Map<String, Boolean> masters() {
        MasterRoster current = roster;
        Map<String, Boolean> masters = new TreeMap<>();
        if (current == null) {
            return masters;
        }
        try {
            for (MasterRoster.Member member : current.members()) {
                masters.put(member.address(), member.leader());
            }
        } catch (StoreException e) {
            // etcd unreachable: the cluster view is still served (as during an outage), without the roster
            LOG.debugf("master roster unavailable: %s", e.getMessage());
        }
        return masters;
    }

    /**
     * Becomes the serving leader: replays what is left of the op-log, rebuilds the index and allocators from it,
     * and appends from the next sequence on, guarded by the leader key it now holds.
     */
    private void takeOver() {
        try {
            lead();
        } catch (RuntimeException e) {
            // Holding the leader key without serving would stall the cluster: give the key up with the process.
            exit("the take-over failed (" + e.getMessage() + ")");
        }
    }

    private void lead() {
        long started = System.nanoTime();
        tailer.catchUp();
        OpLogReplica own = replica;
        StandbyLinks standbys = own == null ? null : recoverFromStandbys(own);
        tailer.close();
        master.restore(tailer.index());
        opLog = new EtcdOpLog(
                store,
                keys.oplog(),
                keys.leader(),
                election.leaderRevision(),
                tailer.appliedSequence() + 1,
                json,
                () -> exit("another master wrote the op-log"),
                tailer.index(),
                snapshots,
                settings.snapshotEvery(),
                standbys);
        master.attachOpLog(opLog);
        serving = true;
        LOG.infof(
                "this master leads cluster %s: %d objects on %d segments restored from %d op-log entries in %d ms",
                settings.cluster(),
                master.stats().objectCount(),
                master.stats().segmentCount(),
                tailer.appliedSequence(),
                (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * What the last leader acknowledged once its standbys held it may not be in etcd yet: collects it from every
     * standby (which fences them against that leader) and writes it down before this master serves.
     *
     * @return the links to the standbys this master, leading, streams to
     */
    private StandbyLinks recoverFromStandbys(OpLogReplica own) {
        byte[] token = newToken();
        store.put(keys.oplogToken(), token, 0);
        String ownKey = keys.oplogReplica(advertised.get());
        List<OpLogStream.Batch> recovered = OpLogRecovery.collect(
                store, keys.oplogReplicas(), ownKey, own, token, tailer.appliedSequence(), settings.replication());
        OpLogRecovery.write(store, keys.leader(), election.leaderRevision(), keys.oplog(), recovered);
        tailer.catchUp();
        own.close();
        replica = null;
        store.delete(ownKey); // a leader takes no batches: nobody should wait on its closed port
        if (!recovered.isEmpty()) {
            LOG.infof(
                    "%d op-log batches the last leader's standbys held were written to etcd (%d to %d)",
                    recovered.size(),
                    recovered.getFirst().sequence(),
                    recovered.getLast().sequence());
        }
        return new StandbyLinks(store, keys.oplogReplicas(), advertised.get(), token, settings.replication());
    }

    private static byte[] newToken() {
        byte[] token = new byte[16];
        new SecureRandom().nextBytes(token);
        return token;
    }

    private static String hostOf(String address) {
        return address.substring(0, address.lastIndexOf(':'));
    }

    private void exit(String why) {
        serving = false;
        LOG.errorf("leadership lost (%s); exiting so a clean standby takes this one's place", why);
        onDemoted.accept(why);
    }

    public void stop() {
        if (roster != null) {
            roster.close();
        }
        if (opLog != null) {
            opLog.close();
        }
        if (replica != null) {
            replica.close();
        }
        if (tailer != null) {
            tailer.close();
        }
        if (election != null) {
            election.close();
        }
    }

    /** Op-log entries this leader wrote (0 when it does not lead over etcd). */
    public long oplogBatches() {
        EtcdOpLog current = opLog;
        return current == null ? 0 : current.batchesWritten();
    }

    /** Ops those entries carried. */
    public long oplogOps() {
        EtcdOpLog current = opLog;
        return current == null ? 0 : current.opsWritten();
    }

    /**
     * The op-log batch this master is at: the last one written when it leads over etcd, the last one applied when it
     * is a standby, 0 without etcd. The leader's figure minus a standby's is how far that standby is behind.
     */
    public long oplogSequence() {
        EtcdOpLog writing = opLog;
        if (writing != null) {
            return writing.lastWritten();
        }
        OpLogTailer following = tailer;
        return following == null ? 0 : following.appliedSequence();
    }

    /** Op-log batches acknowledged because every standby held them, before etcd had them. */
    public long oplogHeldByStandbys() {
        EtcdOpLog current = opLog;
        return current == null ? 0 : current.batchesHeldByStandbys();
    }

    /** Standbys the leader streams its op-log to (0 on a standby, or when acknowledgements wait for etcd). */
    public long oplogStandbys() {
        EtcdOpLog current = opLog;
        return current == null ? 0 : current.streamedStandbys();
    }

    /** Changes this leader has queued for its next op-log write (0 when it does not lead over etcd). */
    public long oplogPending() {
        EtcdOpLog current = opLog;
        return current == null ? 0 : current.pending();
    }

    @Override
    public boolean isLeader() {
        LeaderElection current = election;
        return !settings.elects() || (serving && current != null && current.isLeader());
    }

    /** @throws StoreException NOT_LEADER (-1010) naming the leader when this master is a standby */
    @Override
    public void requireLeader() {
        if (!isLeader()) {
            LeaderElection current = election;
            if (current != null && current.isSuspended()) {
                throw new StoreException(
                        ErrorCode.NOT_LEADER,
                        "this master leads but cannot confirm it: the "
                                + "metadata store is unreachable; it serves again once the store answers");
            }
            throw new StoreException(
                    ErrorCode.NOT_LEADER,
                    "this master is a standby; the leader is "
                            + (current == null
                                    ? "not known yet"
                                    : current.leaderAddress().orElse("being elected")));
        }
    }
}
