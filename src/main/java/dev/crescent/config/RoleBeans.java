package dev.crescent.config;

import dev.crescent.client.GrpcMasterClient;
import dev.crescent.client.LocalMasterClient;
import dev.crescent.client.MasterClient;
import dev.crescent.client.StoreClient;
import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.embedded.EmbeddedMetadataStore;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.local.LocalTransport;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import java.time.Duration;
import java.time.InstantSource;
import java.util.List;

/**
 * Builds the domain objects for the role chosen at start-up. The master client is where the roles differ: a
 * process that runs the master calls it directly, a worker reaches it over gRPC.
 */
public class RoleBeans {

    @Produces
    @Singleton
    Master master(CrescentConfig config) {
        CrescentConfig.MasterConfig m = config.master();
        MasterSettings settings = new MasterSettings(m.leaseTtl(), m.putStartDiscardTimeout(),
                m.putStartReleaseTimeout(), m.replicaNum(), m.allocationAlignment());
        return new Master(settings, new RandomPlacement(), InstantSource.system());
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
    TransferEngine transferEngine() {
        RegisteredMemory memory = new RegisteredMemory();
        return new TransferEngine(memory, List.of(new LocalTransport(memory)));
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
