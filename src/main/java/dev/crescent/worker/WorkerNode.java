package dev.crescent.worker;

import dev.crescent.common.Threads;
import dev.crescent.client.MasterClient;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
import dev.crescent.config.NodeIdentity;
import dev.crescent.master.SegmentSpec;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.transfer.TransferEngine;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A worker's life: allocate the segment, make it reachable through the transfer engine, publish its segment
 * descriptor and worker record (both bound to one lease, so they vanish with the worker) in the metadata store, mount it at the master (retrying until the master answers), and on
 * shutdown unmount it before the memory goes away.
 */
@Singleton
public class WorkerNode {
    private static final Logger LOG = Logger.getLogger(WorkerNode.class);

    private final CrescentConfig config;
    private final NodeIdentity identity;
    private final MasterClient master;
    private final TransferEngine engine;
    private final MetadataStore metadata;
    private final MetadataKeys keys;
    private final ObjectMapper json;
    private final WorkerTransferServer transferServer;
    private String endpoint = "";
    private ScheduledExecutorService ticker;
    private ScheduledExecutorService publisher;
    private long descriptorLease;
    private volatile WorkerSegment segment;
    private volatile SegmentMembership membership;

    public WorkerNode(CrescentConfig config, NodeIdentity identity, MasterClient master, TransferEngine engine,
                      MetadataStore metadata, MetadataKeys keys, ObjectMapper json,
                      WorkerTransferServer transferServer) {
        this.config = config;
        this.identity = identity;
        this.master = master;
        this.engine = engine;
        this.metadata = metadata;
        this.keys = keys;
        this.json = json;
        this.transferServer = transferServer;
    }

    void start(@Observes StartupEvent event) {
        if (!config.role().runsWorker()) {
            return;
        }
        CrescentConfig.WorkerConfig worker = config.worker();
        String name = worker.segmentName().orElse(identity.nodeName());
        segment = WorkerSegment.create(name, worker.segmentSize().asLongValue(), Path.of(worker.shmDir()));
        engine.registerLocal(name, segment.memory(), WorkerSegment.LOCATION);
        String tcp = transferServer.start(engine.memory());
        endpoint = segment.endpoint(tcp, transferServer.serveRdma(name, segment.memory()));
        membership = new SegmentMembership(master, identity.clientId(),
                new SegmentSpec(segment.name(), segment.size(), endpoint));
        // Two timers: heartbeats to the master must not wait behind the descriptor's metadata-store calls, which
        // block for their timeout while the store is unreachable (the master would then take this worker for dead).
        long interval = worker.heartbeatInterval().toMillis();
        ticker = Threads.daemonScheduler("crescent-worker");
        ticker.scheduleWithFixedDelay(membership::tick, 0, interval, TimeUnit.MILLISECONDS);
        publisher = Threads.daemonScheduler("crescent-worker-publish");
        publisher.scheduleWithFixedDelay(this::publishDescriptor, 0, interval, TimeUnit.MILLISECONDS);
    }

    private void publishDescriptor() {
        try {
            if (descriptorLease != 0) {
                metadata.keepAlive(descriptorLease);
                return;
            }
        } catch (StoreException expired) {
            LOG.warnf("descriptor lease of segment %s expired; publishing again", segment.name());
        }
        try {
            descriptorLease = metadata.grantLease(config.worker().leaseTtl());
            SegmentDescriptor descriptor = new SegmentDescriptor(segment.name(), segment.size(), endpoint,
                    WorkerSegment.LOCATION,
                    identity.clientId());
            metadata.put(keys.segment(segment.name()), json.writeValueAsBytes(descriptor), descriptorLease);
            WorkerRecord record = new WorkerRecord(identity.clientId(), identity.nodeName(), List.of(segment.name()),
                    endpoint);
            metadata.put(keys.worker(identity.clientId()), json.writeValueAsBytes(record), descriptorLease);
        } catch (StoreException | JsonProcessingException e) {
            descriptorLease = 0;
            LOG.warnf("publishing segment %s failed: %s", segment.name(), e.getMessage());
        }
    }

    void stop(@Observes ShutdownEvent event) {
        if (segment == null) {
            return;
        }
        ticker.shutdownNow();
        publisher.shutdownNow();
        membership.leave();
        if (descriptorLease != 0) {
            metadata.revokeLease(descriptorLease);
        }
        // Unmounted: no new transfers are directed here; let the ones in flight finish before the memory goes.
        transferServer.stop(Duration.ofSeconds(5));
        engine.unregisterLocal(segment.name());
        segment.close();
    }

    /** Ready when there is no worker in this role, or its segment is mounted. */
    public boolean isReady() {
        return !config.role().runsWorker() || membership != null && membership.mounted();
    }

    public WorkerSegment segment() {
        return segment;
    }
}
