package dev.crescent.worker;

import dev.crescent.client.MasterClient;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
import dev.crescent.config.NodeIdentity;
import dev.crescent.transfer.TransferEngine;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A worker's life: allocate the segment, make it reachable through the transfer engine, mount it at the master
 * (retrying until the master answers), and on shutdown unmount it before the memory goes away.
 */
@Singleton
public class WorkerNode {
    private static final Logger LOG = Logger.getLogger(WorkerNode.class);

    private final CrescentConfig config;
    private final NodeIdentity identity;
    private final MasterClient master;
    private final TransferEngine engine;
    private ScheduledExecutorService mounter;
    private volatile WorkerSegment segment;
    private volatile boolean mounted;

    public WorkerNode(CrescentConfig config, NodeIdentity identity, MasterClient master, TransferEngine engine) {
        this.config = config;
        this.identity = identity;
        this.master = master;
        this.engine = engine;
    }

    void start(@Observes StartupEvent event) {
        if (!config.role().runsWorker()) {
            return;
        }
        CrescentConfig.WorkerConfig worker = config.worker();
        String name = worker.segmentName().orElse(identity.nodeName());
        segment = WorkerSegment.create(name, worker.segmentSize().asLongValue(), Path.of(worker.shmDir()));
        engine.registerLocal(name, segment.memory(), "cpu:0");
        mounter = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("crescent-mount").daemon()
                .factory());
        mounter.scheduleWithFixedDelay(this::mountUntilDone, 0, worker.heartbeatInterval().toMillis(),
                TimeUnit.MILLISECONDS);
    }

    private void mountUntilDone() {
        if (mounted) {
            return;
        }
        try {
            master.mountSegment(identity.clientId(), segment.name(), segment.size(), "");
            mounted = true;
            LOG.infof("segment %s (%d bytes) mounted", segment.name(), segment.size());
        } catch (StoreException e) {
            LOG.warnf("mounting segment %s failed (%s: %s); retrying", segment.name(), e.code(), e.getMessage());
        }
    }

    void stop(@Observes ShutdownEvent event) {
        if (segment == null) {
            return;
        }
        mounter.shutdownNow();
        if (mounted) {
            try {
                master.unmountSegment(identity.clientId(), segment.name());
            } catch (StoreException e) {
                LOG.warnf("unmounting segment %s failed: %s", segment.name(), e.getMessage());
            }
            mounted = false;
        }
        engine.unregisterLocal(segment.name());
        segment.close();
    }

    /** Ready when there is no worker in this role, or its segment is mounted. */
    public boolean isReady() {
        return !config.role().runsWorker() || mounted;
    }

    public WorkerSegment segment() {
        return segment;
    }
}
