package dev.crescent.config;

import dev.crescent.client.GrpcMasterClient;
import dev.crescent.client.LocalMasterClient;
import dev.crescent.client.MasterClient;
import dev.crescent.client.StoreClient;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.eviction.EvictionPolicy;
import jakarta.enterprise.inject.Instance;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.embedded.EmbeddedMetadataStore;
import dev.crescent.api.TransferMetrics;
import dev.crescent.transfer.CompositeObserver;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.ThroughputReporter;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.Transport;
import dev.crescent.transfer.shm.ShmTransport;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransport;
import io.micrometer.core.instrument.MeterRegistry;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.local.LocalTransport;
import dev.crescent.worker.SegmentDirectory;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the domain objects for the role chosen at start-up. The master client is where the roles differ: a
 * process that runs the master calls it directly, a worker reaches it over gRPC.
 */
public class RoleBeans {

    @Produces
    @Singleton
    Master master(CrescentConfig config, Instance<EvictionPolicy> policies) {
        CrescentConfig.MasterConfig m = config.master();
        MasterSettings settings = new MasterSettings(m.leaseTtl(), m.putStartDiscardTimeout(),
                m.putStartReleaseTimeout(), m.replicaNum(), m.allocationAlignment(), m.eviction().highWatermark(),
                m.eviction().ratio());
        String wanted = m.eviction().policy();
        EvictionPolicy policy = policies.stream().filter(p -> p.name().equalsIgnoreCase(wanted)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("crescent.master.eviction.policy=" + wanted
                        + " is not one of " + policies.stream().map(EvictionPolicy::name).toList()));
        return new Master(settings, new RandomPlacement(), policy, InstantSource.system());
    }

    @Produces
    @Singleton
    MasterClient masterClient(CrescentConfig config, Master master) {
        return config.role().runsMaster()
                ? new LocalMasterClient(master)
                : new GrpcMasterClient(config.worker().masterAddress(), Duration.ofSeconds(5));
    }

    void closeMasterClient(@Disposes MasterClient client) {
        client.close();
    }

    @Produces
    @Singleton
    MetadataStore metadataStore() {
        return new EmbeddedMetadataStore(InstantSource.system());
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

    /** Transports in order of preference: same JVM, same host (shared memory), then the network. */
    @Produces
    @Singleton
    TransferEngine transferEngine(CrescentConfig config, NodeIdentity identity, MeterRegistry registry) {
        CrescentConfig.TransferConfig transfer = config.transfer();
        RegisteredMemory memory = new RegisteredMemory();
        List<Transport> transports = new ArrayList<>();
        transports.add(new LocalTransport(memory));
        if (transfer.shm().enabled()) {
            transports.add(new ShmTransport());
        }
        if (transfer.tcp().enabled()) {
            CrescentConfig.TransferConfig.TcpConfig tcp = transfer.tcp();
            transports.add(new TcpTransport(identity.clientId(), new TcpSettings(tcp.connectionsPerPeer(),
                    (int) tcp.sliceSize().asLongValue(), tcp.timeout(), tcp.maxAttempts(), tcp.blacklistFailures(),
                    tcp.blacklistWindow(), tcp.blacklistCooldown())));
        }
        TransferObserver observer = new TransferMetrics(registry);
        if (transfer.reporter().enabled()) {
            observer = new CompositeObserver(observer,
                    new ThroughputReporter(transfer.reporter().interval().toMillis()));
        }
        return new TransferEngine(memory, transports, observer);
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
