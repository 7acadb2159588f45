package dev.crescent.boot;

import dev.crescent.config.CrescentConfig;
import dev.crescent.transfer.rdma.RdmaRuntime;
import dev.crescent.transfer.rdma.RdmaSettings;
import dev.crescent.transfer.topology.TopologyDiscovery;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.nio.file.Path;
import java.util.Set;

/**
 * Opens RDMA at start-up when crescent.transfer.rdma.enabled: the runtime the transfer engine and the worker's
 * transfer server share, or none (disabled, or unavailable here and allowed to fall back to TCP). When RDMA is
 * required (fallback-to-tcp=false) and cannot run, start-up fails with the cause.
 */
@Singleton
public class RdmaStartup {
    private static final Logger LOG = Logger.getLogger(RdmaStartup.class);
    private final RdmaRuntime runtime;

    public RdmaStartup(CrescentConfig config) {
        CrescentConfig.TransferConfig.RdmaConfig rdma = config.transfer().rdma();
        if (!rdma.enabled()) {
            runtime = null;
            return;
        }
        CrescentConfig.TransferConfig.TopologyConfig topology =
                config.transfer().topology();
        RdmaSettings settings = new RdmaSettings(
                rdma.fallbackToTcp(),
                rdma.deviceAllow().orElse(Set.of()),
                rdma.deviceDeny().orElse(Set.of()),
                rdma.port(),
                rdma.gidIndex(),
                rdma.sliceSize().asLongValue(),
                rdma.maxAttempts(),
                rdma.railErrorThreshold(),
                rdma.railPause(),
                rdma.endpointCacheSize(),
                rdma.queueDepth(),
                rdma.hugePages(),
                rdma.shimPath().map(Path::of).orElse(null),
                rdma.timeout(),
                rdma.serveWithAccessControl());
        runtime = RdmaRuntime.openOrFallBack(
                settings,
                new TopologyDiscovery(Path.of(topology.sysfsRoot()))
                        .discover(
                                topology.nicAllow().orElse(Set.of()),
                                topology.nicDeny().orElse(Set.of())),
                LOG::warn);
        if (runtime != null) {
            LOG.infof("RDMA on %s", runtime.deviceNames());
        }
    }

    /** @return the RDMA runtime, or null when this process runs without RDMA */
    public RdmaRuntime runtime() {
        return runtime;
    }

    @PreDestroy
    void close() {
        if (runtime != null) {
            runtime.close();
        }
    }
}
