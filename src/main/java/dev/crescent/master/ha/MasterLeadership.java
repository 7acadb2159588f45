package dev.crescent.master.ha;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.config.CrescentConfig;
import dev.crescent.config.NodeIdentity;
import dev.crescent.master.Master;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.value.registry.ValueRegistry;
import io.quarkus.vertx.http.HttpServer;
import io.quarkus.vertx.http.HttpServerStart;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.event.ObservesAsync;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;


/**
 * Whether this process may act as the master. A master over etcd campaigns for leadership and serves only while
 * it leads; the others are standbys that answer NOT_LEADER with the leader's address and replay the leader's
 * op-log, so the one elected next starts from every acknowledged object. A master on the embedded
 * store is alone and always leads. A leader that loses its lease exits (status 3) so its supervisor restarts it
 * as a clean standby: it must never serve next to the new leader.
 */
@Singleton
public class MasterLeadership {
    private static final Logger LOG = Logger.getLogger(MasterLeadership.class);
    /** Exit status of a master that lost leadership. */
    public static final int DEMOTED_EXIT = 3;

    private final CrescentConfig config;
    private final MetadataStore store;
    private final MetadataKeys keys;
    private final Master master;
    private final ObjectMapper json;
    private volatile LeaderElection election;
    private volatile OpLogTailer tailer;
    private volatile OpLogSnapshots snapshots;
    private volatile EtcdJournal journal;
    /** Set once a new leader has restored the replicated index: only then does it serve. */
    private volatile boolean serving;
    /** A master over etcd is one of several and must win the election before it serves. */
    private final boolean elects;
    private volatile int httpPort;

    private final ValueRegistry values;

    public MasterLeadership(CrescentConfig config, MetadataStore store, MetadataKeys keys, ValueRegistry values,
                            Master master, ObjectMapper json) {
        this.config = config;
        this.values = values;
        this.master = master;
        this.json = json;
        this.elects = config.role().runsMaster() && config.metadata().etcd().endpoints().isPresent();
        this.store = store;
        this.keys = keys;
    }

    /** Campaigns once the HTTP server listens: only then is there an address to publish, and a service behind it. */
    void start(@ObservesAsync HttpServerStart event) {
        if (!elects) {
            return;
        }
        // The port really bound (the options say 0 or -1 when a free port was asked for).
        httpPort = values.getOrDefault(HttpServer.HTTP_PORT, event.options().getPort());
        // A standby keeps a hot copy of the leader's index by replaying its op-log.
        snapshots = new OpLogSnapshots(store, keys.snapshots(), keys.oplog(), json);
        tailer = new OpLogTailer(store, keys.oplog(), snapshots, json);
        election = new LeaderElection(store, keys.leader(), this::advertisedAddress, config.master().leaderTtl(),
                new LeaderElection.Listener() {
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
    }

    /**
     * Becomes the serving leader: replays what is left of the op-log, rebuilds the index and allocators from it,
     * and appends from the next sequence on, guarded by the leader key it now holds.
     */
    private void takeOver() {
        long started = System.nanoTime();
        tailer.catchUp();
        tailer.close();
        master.restore(tailer.index());
        journal = new EtcdJournal(store, keys.oplog(), keys.leader(), election.leaderRevision(),
                tailer.appliedSequence() + 1, json, () -> exit("another master wrote the op-log"), tailer.index(),
                snapshots, config.master().snapshotEvery());
        master.attachJournal(journal);
        serving = true;
        LOG.infof("this master leads cluster %s: %d objects on %d segments restored from %d op-log entries in %d ms",
                config.cluster(), master.stats().objectCount(), master.stats().segmentCount(),
                tailer.appliedSequence(), (System.nanoTime() - started) / 1_000_000);
    }

    private void exit(String why) {
        serving = false;
        LOG.errorf("leadership lost (%s); exiting so a clean standby takes this one's place", why);
        Quarkus.asyncExit(DEMOTED_EXIT);
    }

    void stop(@Observes ShutdownEvent event) {
        if (journal != null) {
            journal.close();
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
        EtcdJournal current = journal;
        return current == null ? 0 : current.batchesWritten();
    }

    /** Ops those entries carried. */
    public long oplogOps() {
        EtcdJournal current = journal;
        return current == null ? 0 : current.opsWritten();
    }

    public boolean isLeader() {
        LeaderElection current = election;
        return !elects || (serving && current != null && current.isLeader());
    }

    /** @throws StoreException NOT_LEADER (-1010) naming the leader when this master is a standby */
    public void requireLeader() {
        if (!isLeader()) {
            LeaderElection current = election;
            if (current != null && current.isSuspended()) {
                throw new StoreException(ErrorCode.NOT_LEADER, "this master leads but cannot confirm it: the "
                        + "metadata store is unreachable; it serves again once the store answers");
            }
            throw new StoreException(ErrorCode.NOT_LEADER, "this master is a standby; the leader is "
                    + (current == null ? "not known yet" : current.leaderAddress().orElse("being elected")));
        }
    }

    /** host:port clients reach this master at: configured, or this host's address and the HTTP port in use. */
    private String advertisedAddress() {
        return config.master().advertiseAddress().orElseGet(() -> {
            return NodeIdentity.hostAddress() + ":" + httpPort;
        });
    }
}
