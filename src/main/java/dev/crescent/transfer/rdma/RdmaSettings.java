package dev.crescent.transfer.rdma;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * How the rdma transport runs (crescent.transfer.rdma.*).
 *
 * @param fallbackToTcp     when RDMA cannot start (no shim, no libibverbs, no device), run on TCP with a warning
 *                          instead of refusing to start
 * @param deviceAllow       when not empty, only these devices are used; {@code deviceDeny} never
 * @param port              the device port (1 on nearly every NIC)
 * @param gidIndex          the GID table entry for RoCE (often 3 for RoCE v2 over IPv4)
 * @param sliceBytes        requests are cut into slices of this size and spread over rails
 * @param maxAttempts       tries per slice, each on another rail
 * @param railErrorThreshold failures in a row that pause a rail, for {@code railPause}
 * @param endpointCacheSize connected queue pairs kept (least recently used ones are closed)
 * @param queueDepth        work requests in flight per queue pair
 * @param hugePages         segments are backed by 2 MiB huge pages (registration is cut at huge-page boundaries)
 * @param shimPath          a verbs shim to load instead of the bundled one (null: bundled)
 * @param serveWithAccessControl serve RDMA even with access control on (remote keys bypass transfer tickets)
 */
public record RdmaSettings(
        boolean fallbackToTcp,
        Set<String> deviceAllow,
        Set<String> deviceDeny,
        int port,
        int gidIndex,
        long sliceBytes,
        int maxAttempts,
        int railErrorThreshold,
        Duration railPause,
        int endpointCacheSize,
        int queueDepth,
        boolean hugePages,
        Path shimPath,
        Duration timeout,
        boolean serveWithAccessControl) {

    public static RdmaSettings defaults() {
        return new RdmaSettings(
                true,
                Set.of(),
                Set.of(),
                1,
                0,
                64 << 10,
                3,
                3,
                Duration.ofSeconds(5),
                256,
                256,
                false,
                null,
                Duration.ofSeconds(10),
                false);
    }
}
