package dev.crescent.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** Every {@code crescent.*} key. Each default works on one box, so no config file is needed. */
@ConfigMapping(prefix = "crescent")
public interface CrescentConfig {

    /** standalone (default), master or worker; the profiles of the same names set it. */
    @WithDefault("standalone")
    Role role();

    /** Names the cluster; metadata keys live under /crescent/&lt;cluster&gt;/. */
    @WithDefault("default")
    String cluster();

    /** This node's name; defaults to the host name. */
    Optional<String> nodeName();

    MasterConfig master();

    WorkerConfig worker();

    interface MasterConfig {
        /** How long Exist/GetReplicaList protect an object from eviction and plain Remove. */
        @WithDefault("10s")
        Duration leaseTtl();

        /** After this long an unfinished PutStart may be pre-empted by another writer of the key. */
        @WithDefault("30s")
        Duration putStartDiscardTimeout();

        /** After this long the ranges of an unfinished PutStart are reclaimed. */
        @WithDefault("600s")
        Duration putStartReleaseTimeout();

        /** Replicas per object when a put does not say. */
        @WithDefault("1")
        int replicaNum();

        /** Offset and size granularity of segment allocations, in bytes (a power of two). */
        @WithDefault("64")
        int allocationAlignment();
    }

    interface WorkerConfig {
        /** Memory this worker contributes to the pool. */
        @WithDefault("256M")
        MemorySize segmentSize();

        /** Segment name; defaults to the node name. */
        Optional<String> segmentName();

        /**
         * Directory of the shared-memory file backing the segment, so same-host clients can map it. When the
         * directory does not exist the segment is plain process memory.
         */
        @WithDefault("/dev/shm")
        String shmDir();

        /** Master gRPC address (host:port) a worker-role process mounts its segment at. */
        @WithDefault("localhost:8080")
        String masterAddress();

        /** How often a worker tells the master it is alive. */
        @WithDefault("1s")
        Duration heartbeatInterval();
    }
}
