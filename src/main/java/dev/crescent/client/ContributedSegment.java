package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.config.NodeIdentity;
import dev.crescent.master.SegmentSpec;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.tcp.TcpTransferServer;
import dev.crescent.worker.SegmentMembership;
import dev.crescent.worker.WorkerSegment;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Memory a client adds to the pool, as a worker would: a segment backed by a shared-memory file (same-host
 * peers map it), served over TCP to other hosts and in-process to the client itself, mounted at the master and
 * kept alive by heartbeats until the client closes.
 */
final class ContributedSegment implements AutoCloseable {
    private static final Duration HEARTBEAT = Duration.ofSeconds(1);
    private static final Path SHM_DIR = Path.of("/dev/shm");

    private final WorkerSegment segment;
    private final TransferEngine engine;
    private final TcpTransferServer server;
    private final SegmentMembership membership;
    private final ScheduledExecutorService ticker = Threads.daemonScheduler("crescent-client-segment");

    ContributedSegment(String name, long bytes, MasterClient master, String clientId, TransferEngine engine) {
        this.engine = engine;
        this.segment = WorkerSegment.create(name, bytes, SHM_DIR);
        try {
            server = new TcpTransferServer(engine.memory(), new InetSocketAddress("0.0.0.0", 0),
                    Duration.ofSeconds(5), Duration.ofSeconds(30));
        } catch (IOException e) {
            segment.close();
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot serve the contributed segment: "
                    + e.getMessage(), e);
        }
        engine.registerLocal(name, segment.memory(), WorkerSegment.LOCATION);
        String endpoint = segment.endpoint(NodeIdentity.hostAddress() + ":" + server.port());
        membership = new SegmentMembership(master, clientId, new SegmentSpec(name, bytes, endpoint));
        membership.tick(); // mounted before connect returns, when the master answers
        ticker.scheduleWithFixedDelay(membership::tick, HEARTBEAT.toMillis(), HEARTBEAT.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    String name() {
        return segment.name();
    }

    boolean mounted() {
        return membership.mounted();
    }

    /** Unmounts first, so no new transfer is directed here, then lets the ones in flight finish. */
    @Override
    public void close() {
        ticker.shutdownNow();
        membership.leave();
        server.close(Duration.ofSeconds(5));
        engine.unregisterLocal(segment.name());
        segment.close();
    }
}
