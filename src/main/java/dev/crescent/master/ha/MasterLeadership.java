package dev.crescent.master.ha;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
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

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Whether this process may act as the master. A master over etcd campaigns for leadership and serves only while
 * it leads; the others are standbys that answer NOT_LEADER with the leader's address. A master on the embedded
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
    private volatile LeaderElection election;
    private volatile int httpPort;

    private final ValueRegistry values;

    public MasterLeadership(CrescentConfig config, MetadataStore store, MetadataKeys keys, ValueRegistry values) {
        this.config = config;
        this.values = values;
        this.store = store;
        this.keys = keys;
    }

    /** Campaigns once the HTTP server listens: only then is there an address to publish, and a service behind it. */
    void start(@ObservesAsync HttpServerStart event) {
        if (!config.role().runsMaster() || config.metadata().etcd().endpoints().isEmpty()) {
            return;
        }
        // The port really bound (the options say 0 or -1 when a free port was asked for).
        httpPort = values.getOrDefault(HttpServer.HTTP_PORT, event.options().getPort());
        election = new LeaderElection(store, keys.leader(), this::advertisedAddress, config.master().leaderTtl(),
                new LeaderElection.Listener() {
                    @Override
                    public void elected() {
                        LOG.infof("this master leads cluster %s", config.cluster());
                    }

                    @Override
                    public void demoted(String why) {
                        LOG.errorf("leadership lost (%s); exiting so a clean standby takes this one's place", why);
                        Quarkus.asyncExit(DEMOTED_EXIT);
                    }
                });
        election.start();
    }

    void stop(@Observes ShutdownEvent event) {
        if (election != null) {
            election.close();
        }
    }

    /** Whether HA election is on (a master over etcd). */
    public boolean elects() {
        return election != null;
    }

    public boolean isLeader() {
        return election == null || election.isLeader();
    }

    /** @throws StoreException NOT_LEADER (-1010) naming the leader when this master is a standby */
    public void requireLeader() {
        if (!isLeader()) {
            throw new StoreException(ErrorCode.NOT_LEADER, "this master is a standby; the leader is "
                    + election.leaderAddress().orElse("being elected"));
        }
    }

    /** host:port clients reach this master at: configured, or this host's address and the HTTP port in use. */
    private String advertisedAddress() {
        return config.master().advertiseAddress().orElseGet(() -> {
            try {
                return InetAddress.getLocalHost().getHostAddress() + ":" + httpPort;
            } catch (UnknownHostException e) {
                return "127.0.0.1:" + httpPort;
            }
        });
    }
}
