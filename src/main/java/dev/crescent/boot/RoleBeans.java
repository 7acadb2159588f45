package dev.crescent.boot;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.api.ControlPlaneTls;
import dev.crescent.api.TransferMetrics;
import dev.crescent.client.LeaderLookup;
import dev.crescent.client.RemoteMasterClient;
import dev.crescent.client.StoreClient;
import dev.crescent.client.Transports;
import dev.crescent.config.CrescentConfig;
import dev.crescent.config.Role;
import dev.crescent.master.EngineReplicas;
import dev.crescent.master.EngineScrubber;
import dev.crescent.master.EvictionPolicy;
import dev.crescent.master.InlineValues;
import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.PlacementStrategy;
import dev.crescent.master.TenantRegistry;
import dev.crescent.master.access.AccessControl;
import dev.crescent.master.access.AccessRule;
import dev.crescent.master.ha.FileOpLog;
import dev.crescent.master.ha.HaSettings;
import dev.crescent.master.ha.MasterLeadership;
import dev.crescent.master.ha.ReplicationSockets;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.embedded.EmbeddedMetadataStore;
import dev.crescent.meta.etcd.EtcdMetadataStore;
import dev.crescent.protocol.MasterClient;
import dev.crescent.transfer.CompositeObserver;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.ThroughputReporter;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.Transport;
import dev.crescent.transfer.shm.SharedVersionTables;
import dev.crescent.transfer.shm.ShmFiles;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.worker.SegmentDirectory;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Quarkus;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.enterprise.inject.Typed;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Builds the domain objects for the role chosen at start-up. The master client is where the roles differ: a
 * process that runs the master calls it directly, a worker reaches it over gRPC.
 */
public class RoleBeans {
    private static final Logger LOG = Logger.getLogger(RoleBeans.class);

    @Produces
    @Singleton
    @Typed(Master.class)
    Master master(
            CrescentConfig config,
            Instance<EvictionPolicy> policies,
            Instance<PlacementStrategy> placements,
            AccessControl access,
            TransferEngine engine,
            ObjectMapper json) {
        CrescentConfig.MasterConfig m = config.master();
        MasterSettings settings = new MasterSettings(
                m.leaseTtl(),
                m.putStartDiscardTimeout(),
                m.putStartReleaseTimeout(),
                m.replicaNum(),
                m.allocationAlignment(),
                m.eviction().highWatermark(),
                m.eviction().ratio(),
                m.softPinTtl(),
                m.clientTtl(),
                m.maxLeasedVersions(),
                config.events().buffer(),
                m.restartGrace());
        EvictionPolicy policy = byName(
                policies,
                EvictionPolicy::name,
                "crescent.master.eviction.policy",
                m.eviction().policy());
        PlacementStrategy placement = byName(
                placements,
                PlacementStrategy::name,
                "crescent.master.placement.strategy",
                m.placement().strategy());
        Master master = new Master(settings, placement, policy, InstantSource.system(), access.tickets());
        if (config.transfer().shm().enabled()) {
            master.attachVersionTables(new SharedVersionTables(shmDirectories(config)));
        }
        EngineReplicas replicas = new EngineReplicas(engine);
        master.attachChecksums(replicas);
        if (m.eviction().fromDram() == CrescentConfig.MasterConfig.EvictionConfig.FromDram.OFFLOAD) {
            master.attachTiering(replicas);
        }
        if (config.role().runsMaster()
                && config.metadata().etcd().endpoints().isEmpty()
                && m.oplogFile().isPresent()) {
            // Before anything mounts: a worker that adopted its segment file must find the objects restored.
            FileOpLog log = FileOpLog.open(Path.of(m.oplogFile().get()), json, m.snapshotEvery());
            master.restore(log.state());
            master.attachOpLog(log);
            LOG.infof(
                    "restored %d objects on %d segments from the op-log file %s",
                    master.stats().objectCount(),
                    master.stats().segmentCount(),
                    m.oplogFile().get());
        }
        if (access.tickets() != null) {
            // Tenants exist only with access control: then no one may read what another deleted.
            master.attachScrubber(new EngineScrubber(engine));
        }
        return master;
    }

    /** The bean whose config name is {@code wanted}; an unknown name stops start-up with the valid choices. */
    private static <T> T byName(Instance<T> beans, Function<T, String> name, String key, String wanted) {
        return beans.stream()
                .filter(b -> name.apply(b).equalsIgnoreCase(wanted))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(key + "=" + wanted + " is not one of "
                        + beans.stream().map(name).toList()));
    }

    /** Small objects' bytes moved by the master itself (a put or a get in one call), up to the configured size. */
    @Produces
    @Singleton
    InlineValues inlineValues(CrescentConfig config, Master master, TransferEngine engine) {
        long limit = config.master().inlineMaxBytes().asLongValue();
        if (limit < 0 || limit > InlineValues.MAX_LIMIT) {
            throw new IllegalArgumentException(
                    "crescent.master.inline-max-bytes=" + limit + " is not within 0.." + InlineValues.MAX_LIMIT);
        }
        return new InlineValues(master, engine, limit);
    }

    /** The whitelist (config rules plus API rules from the metadata store) and the transfer-ticket secret. */
    @Produces
    @Singleton
    AccessControl accessControl(CrescentConfig config, MetadataStore store, MetadataKeys keys, ObjectMapper json) {
        CrescentConfig.AccessConfig access = config.access();
        List<AccessRule> rules = access.rules().entrySet().stream()
                .map(e -> new AccessRule(
                        e.getKey(),
                        e.getValue().nodes().orElse(List.of()),
                        e.getValue().cidrs().orElse(List.of()),
                        e.getValue().prefixes().orElse(List.of()),
                        e.getValue().rights()))
                .toList();
        TicketSigner tickets = null;
        if (access.enabled()) {
            if (access.ticketSecret().isPresent()) {
                tickets = new TicketSigner(access.ticketSecret().get().getBytes(StandardCharsets.UTF_8));
            } else if (config.role() == Role.STANDALONE) {
                tickets = TicketSigner.random(); // signer and verifier are this one process
            } else {
                throw new IllegalStateException("crescent.access.enabled=true needs crescent.access.ticket-secret "
                        + "(at least 16 bytes, the same on every master and worker)");
            }
        }
        return new AccessControl(access.enabled(), access.trustStatedNames(), rules, store, keys, json, tickets);
    }

    void closeAccessControl(@Disposes AccessControl access) {
        access.close();
    }

    /** Tenant quotas from the metadata store, in force on this master (and every master sharing the store). */
    @Produces
    @Singleton
    TenantRegistry tenants(MetadataStore store, MetadataKeys keys, ObjectMapper json, Master master) {
        return new TenantRegistry(store, keys, json, master);
    }

    void closeTenants(@Disposes TenantRegistry tenants) {
        tenants.close();
    }

    /** Leader election and the op-log over etcd; with the embedded store this master is alone and always leads. */
    @Produces
    @Singleton
    MasterLeadership leadership(
            CrescentConfig config,
            Master master,
            MetadataStore store,
            MetadataKeys keys,
            ObjectMapper json,
            ControlPlaneTls tls) {
        CrescentConfig.MasterConfig m = config.master();
        HaSettings settings = new HaSettings(
                config.role().runsMaster()
                        && config.metadata().etcd().endpoints().isPresent(),
                config.cluster(),
                m.leaderTtl(),
                m.snapshotEvery(),
                m.oplogAck() == CrescentConfig.OplogAck.STANDBY,
                m.oplogReplicationPort(),
                ReplicationSockets.of(tls.context())); // masters are each other's peers: mutual TLS when it is on
        return new MasterLeadership(
                settings, store, keys, master, json, why -> Quarkus.asyncExit(MasterLeadership.DEMOTED_EXIT));
    }

    /** In a role that runs the master it is called directly (it checks leadership itself); else over the network. */
    @Produces
    @Singleton
    MasterClient masterClient(
            CrescentConfig config,
            Master master,
            NodeIdentity identity,
            MetadataStore store,
            MetadataKeys keys,
            ControlPlaneTls tls) {
        if (config.role().runsMaster()) {
            return master;
        }
        // Over etcd the leader is found where the masters elect it; otherwise at the configured address.
        Supplier<String> leader = config.metadata().etcd().endpoints().isEmpty()
                ? () -> config.worker().masterAddress()
                : LeaderLookup.in(store, keys);
        // With TLS configured, this node calls the master with its own certificate: the name the master's rules see.
        return new RemoteMasterClient(
                leader,
                identity.nodeName(),
                config.client().callTimeout(),
                config.client().failoverWindow(),
                true,
                tls.context());
    }

    void closeMasterClient(@Disposes MasterClient client) {
        client.close();
    }

    @Produces
    @Singleton
    MetadataStore metadataStore(CrescentConfig config) {
        CrescentConfig.MetadataConfig.EtcdConfig etcd = config.metadata().etcd();
        return etcd.endpoints()
                .filter(e -> !e.isEmpty())
                .<MetadataStore>map(endpoints -> new EtcdMetadataStore(endpoints, etcd.timeout()))
                .orElseGet(() -> new EmbeddedMetadataStore(InstantSource.system()));
    }

    void closeMetadataStore(@Disposes MetadataStore store) {
        store.close();
    }

    @Produces
    @Singleton
    MetadataKeys metadataKeys(CrescentConfig config) {
        return new MetadataKeys(config.cluster());
    }

    @Produces
    @Singleton
    SegmentDirectory segmentDirectory(MetadataStore store, MetadataKeys keys, ObjectMapper json) {
        return new SegmentDirectory(store, keys, json);
    }

    void closeSegmentDirectory(@Disposes SegmentDirectory directory) {
        directory.close();
    }

    /** Transports in order of preference: same JVM, same host (shared memory), then RDMA, then TCP. */
    @Produces
    @Singleton
    TransferEngine transferEngine(
            CrescentConfig config,
            NodeIdentity identity,
            MeterRegistry registry,
            RdmaStartup rdma,
            ControlPlaneTls tls) {
        CrescentConfig.TransferConfig transfer = config.transfer();
        RegisteredMemory memory = new RegisteredMemory();
        CrescentConfig.TransferConfig.TcpConfig tcp = transfer.tcp();
        TcpSettings tcpSettings = !tcp.enabled()
                ? null
                : new TcpSettings(
                        tcp.connectionsPerPeer(),
                        (int) tcp.sliceSize().asLongValue(),
                        tcp.timeout(),
                        tcp.maxAttempts(),
                        tcp.blacklistFailures(),
                        tcp.blacklistWindow(),
                        tcp.blacklistCooldown());
        List<Transport> transports = Transports.preferred(
                memory,
                transfer.local().enabled(),
                transfer.shm().enabled() ? shmDirectories(config) : Set.of(),
                identity.clientId(),
                tcpSettings,
                rdma.runtime(),
                tls.context());
        TransferObserver observer = new TransferMetrics(registry);
        if (transfer.reporter().enabled()) {
            observer = new CompositeObserver(
                    observer,
                    new ThroughputReporter(transfer.reporter().interval().toMillis()));
        }
        return new TransferEngine(memory, transports, observer);
    }

    /** The directories whose segment files this process maps: the defaults and the configured one. */
    private static Set<Path> shmDirectories(CrescentConfig config) {
        Set<Path> directories = new HashSet<>(ShmFiles.DEFAULT_DIRECTORIES);
        directories.add(Path.of(config.worker().shmDir()));
        return directories;
    }

    void closeTransferEngine(@Disposes TransferEngine engine) {
        engine.close();
    }

    @Produces
    @Singleton
    StoreClient storeClient(MasterClient master, TransferEngine engine, NodeIdentity identity) {
        return new StoreClient(master, engine, identity.clientId(), InstantSource.system());
    }
}
