package dev.crescent.boot;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.api.ControlPlaneTls;
import dev.crescent.api.NodeReadiness;
import dev.crescent.config.CrescentConfig;
import dev.crescent.master.access.AccessControl;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.protocol.MasterClient;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.tcp.TcpServerLimits;
import dev.crescent.worker.DiskTier;
import dev.crescent.worker.SegmentHost;
import dev.crescent.worker.SegmentPublisher;
import dev.crescent.worker.SegmentSettings;
import dev.crescent.worker.TransferServerSettings;
import dev.crescent.worker.WorkerSegment;
import dev.crescent.worker.WorkerTransferServer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;

/**
 * The worker role's life: at start-up its segment goes into the pool (a {@link SegmentHost} published in the
 * metadata store), at shutdown it leaves it before the memory goes away. In other roles it does nothing.
 */
@Singleton
public class WorkerNode implements NodeReadiness {
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(5);

    private final CrescentConfig config;
    private final NodeIdentity identity;
    private final MasterClient master;
    private final TransferEngine engine;
    private final MetadataStore metadata;
    private final MetadataKeys keys;
    private final ObjectMapper json;
    private final AccessControl access;
    private final RdmaStartup rdma;
    private final ControlPlaneTls tls;
    private volatile SegmentHost host;

    public WorkerNode(
            CrescentConfig config,
            NodeIdentity identity,
            MasterClient master,
            TransferEngine engine,
            MetadataStore metadata,
            MetadataKeys keys,
            ObjectMapper json,
            AccessControl access,
            RdmaStartup rdma,
            ControlPlaneTls tls) {
        this.config = config;
        this.identity = identity;
        this.master = master;
        this.engine = engine;
        this.metadata = metadata;
        this.keys = keys;
        this.json = json;
        this.access = access;
        this.rdma = rdma;
        this.tls = tls;
    }

    void start(@Observes StartupEvent event) {
        if (!config.role().runsWorker()) {
            return;
        }
        CrescentConfig.WorkerConfig worker = config.worker();
        CrescentConfig.TransferConfig.TcpConfig tcp = config.transfer().tcp();
        SegmentSettings segment = new SegmentSettings(
                worker.segmentName().orElse(identity.nodeName()),
                worker.segmentSize().asLongValue(),
                Path.of(worker.shmDir()),
                worker.shmGroup().orElse(null),
                worker.heartbeatInterval(),
                DRAIN_TIMEOUT,
                worker.orphanRetention());
        TransferServerSettings server = new TransferServerSettings(
                tcp.enabled(),
                tcp.bindHost(),
                tcp.port(),
                tcp.advertiseHost().orElse(null),
                new TcpServerLimits(
                        tcp.handshakeTimeout(), tcp.frameTimeout(), tcp.idleTimeout(), tcp.maxConnections()),
                tcp.tls() ? serverContext() : null);
        host = new SegmentHost(
                segment,
                master,
                identity.clientId(),
                engine,
                new WorkerTransferServer(server, access.tickets(), rdma.runtime()),
                new SegmentPublisher(metadata, keys, json, identity.nodeName(), worker.leaseTtl()),
                worker.disk()
                        .path()
                        .map(path -> new DiskTier(
                                Path.of(path), worker.disk().capacity().asLongValue()))
                        .orElse(null));
        if (config.role().runsMaster()) {
            // The master is in this process and answers at once: mount before start-up completes, so that a put
            // made as soon as the node listens (a native node does in about 0.1 s) finds the segment in the pool,
            // even when the mount takes two calls (an adopted file the master does not know, cleared in between).
            host.mountNow();
        }
    }

    /** The node's TLS context for a transfer server that serves TLS; refused when the node has no TLS. */
    private SSLContext serverContext() {
        if (!tls.enabled()) {
            throw new IllegalStateException("crescent.transfer.tcp.tls=true needs this node's TLS configuration "
                    + "(quarkus.tls.key-store.*, see README \"Access control\")");
        }
        return tls.context();
    }

    void stop(@Observes ShutdownEvent event) {
        if (host != null) {
            if (config.worker().stopKeepsObjects()) {
                host.closeForRestart();
            } else {
                host.close();
            }
        }
    }

    /** Ready when there is no worker in this role, or its segment is mounted. */
    @Override
    public boolean workerReady() {
        return !config.role().runsWorker() || host != null && host.mounted();
    }

    /** This node's segment, or null when it runs no worker (or has not started it yet). */
    public WorkerSegment segment() {
        SegmentHost current = host;
        return current == null ? null : current.segment();
    }
}
