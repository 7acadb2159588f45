package dev.crescent.worker;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.protocol.MasterClient;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.SegmentTier;
import dev.crescent.transfer.TransferEngine;

import java.nio.file.Files;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One segment in the pool, for a worker and for a client that contributes memory alike: allocates the segment,
 * makes it reachable through the transfer engine and a transfer server, mounts it at the master and keeps it
 * mounted with heartbeats (and, for a worker, published in the metadata store). It owns the segment's memory:
 * {@link #close} unmounts first, so no new transfer is directed here, drains the transfers in flight, and only then
 * frees the memory.
 */
public final class SegmentHost implements AutoCloseable {
    private final SegmentSettings settings;
    private final TransferEngine engine;
    private final WorkerTransferServer server;
    private final WorkerSegment segment;
    private final SegmentMembership membership;
    /** The disk tier's segment and its membership; null: this host has none. */
    private final WorkerSegment diskSegment;

    private final SegmentMembership diskMembership;
    private final SegmentPublisher publisher;
    private final SegmentDescriptor descriptor;
    private final ScheduledExecutorService ticker;
    private final ScheduledExecutorService publishing;

    /**
     * Starts serving the segment; mounting goes on in the background until the master answers.
     *
     * @param publisher keeps the segment's descriptor in the metadata store; null: not published there
     */
    public SegmentHost(
            SegmentSettings settings,
            MasterClient master,
            String clientId,
            TransferEngine engine,
            WorkerTransferServer server,
            SegmentPublisher publisher) {
        this(settings, master, clientId, engine, server, publisher, null);
    }

    /** @param disk this worker's disk tier, served by the same transfer server; null: none */
    public SegmentHost(
            SegmentSettings settings,
            MasterClient master,
            String clientId,
            TransferEngine engine,
            WorkerTransferServer server,
            SegmentPublisher publisher,
            DiskTier disk) {
        this.settings = settings;
        this.engine = engine;
        this.server = server;
        this.publisher = publisher;
        this.segment = WorkerSegment.open(
                settings.name(),
                settings.capacity(),
                settings.shmDir(),
                settings.shmGroup(),
                settings.orphanRetention(),
                true);
        try {
            engine.registerLocal(segment.name(), segment.memory(), WorkerSegment.LOCATION);
            String tcp = server.start(engine.memory());
            String endpoint = segment.endpoint(
                    tcp, server.serveRdma(segment.name(), segment.memory()), server.ticketed(), server.tls());
            descriptor = new SegmentDescriptor(
                    segment.name(),
                    segment.capacity(),
                    endpoint,
                    WorkerSegment.LOCATION,
                    clientId,
                    segment.contentsId());
        } catch (RuntimeException e) {
            server.stop(settings.drainTimeout());
            engine.unregisterLocal(segment.name());
            segment.close();
            throw e;
        }
        membership = new SegmentMembership(master, clientId, descriptor, segment);
        diskSegment = disk == null ? null : openDisk(disk);
        diskMembership = diskSegment == null
                ? null
                : new SegmentMembership(master, clientId, diskDescriptor(clientId), diskSegment);
        long interval = settings.heartbeatInterval().toMillis();
        ticker = Threads.daemonScheduler("crescent-segment-" + segment.name());
        ticker.scheduleWithFixedDelay(this::tick, 0, interval, TimeUnit.MILLISECONDS);
        // A timer of its own: heartbeats must not wait behind metadata-store calls, which block for their timeout
        // while the store is unreachable (the master would then take this process for dead).
        publishing = publisher == null ? null : Threads.daemonScheduler("crescent-segment-publish");
        if (publishing != null) {
            publishing.scheduleWithFixedDelay(
                    () -> publisher.keepPublished(descriptor), 0, interval, TimeUnit.MILLISECONDS);
        }
    }

    /** One beat: each segment's file is stamped alive (see {@link OrphanFiles}), then mounted or heartbeated. */
    private void tick() {
        segment.stampAlive();
        membership.tick();
        if (diskMembership != null) {
            diskSegment.stampAlive();
            diskMembership.tick();
        }
    }

    /** Opens (or adopts) the disk tier's file and serves it; on failure nothing of this host is left running. */
    private WorkerSegment openDisk(DiskTier disk) {
        WorkerSegment opened = null;
        try {
            if (!Files.isDirectory(disk.directory())) {
                throw new StoreException(
                        ErrorCode.INVALID_PARAMS, "disk tier directory " + disk.directory() + " does not exist");
            }
            opened = WorkerSegment.open(
                    DiskTier.segmentName(segment.name()),
                    disk.capacity(),
                    disk.directory(),
                    null,
                    settings.orphanRetention(),
                    true);
            engine.registerLocal(opened.name(), opened.memory(), WorkerSegment.LOCATION);
            return opened;
        } catch (RuntimeException e) {
            if (opened != null) {
                opened.close();
            }
            server.stop(settings.drainTimeout());
            engine.unregisterLocal(segment.name());
            segment.close();
            throw e;
        }
    }

    /** The disk segment as mounted: reached over TCP only (no shared-memory file: readers must not map it). */
    private SegmentDescriptor diskDescriptor(String clientId) {
        PeerAddress dram = PeerAddress.parse(descriptor.endpoint());
        String endpoint = new PeerAddress(HostId.current(), dram.tcp(), "", "", dram.ticketed(), dram.tls()).format();
        return new SegmentDescriptor(
                diskSegment.name(),
                diskSegment.capacity(),
                endpoint,
                WorkerSegment.LOCATION,
                clientId,
                diskSegment.contentsId(),
                SegmentTier.DISK);
    }

    /**
     * Mounts now (or heartbeats, when already mounted) and waits for the answer: for callers that want the segment
     * in the pool before they go on. Ticks run on the ticker thread only, so this one queues behind any in flight.
     *
     * @return whether the segment is mounted
     */
    public boolean mountNow() {
        try {
            ticker.submit(this::tick).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException("mounting segment " + segment.name() + " failed", e.getCause());
        }
        return membership.mounted();
    }

    public String name() {
        return segment.name();
    }

    public WorkerSegment segment() {
        return segment;
    }

    public SegmentDescriptor descriptor() {
        return descriptor;
    }

    public boolean mounted() {
        return membership.mounted();
    }

    /** Why the master last refused (or failed) to mount the segment; null when the last mount went through. */
    public StoreException refusal() {
        return membership.refusal();
    }

    @Override
    public void close() {
        close(false);
    }

    /**
     * Stops serving but leaves the segment mounted and its file in place, so the process started next with this
     * segment name adopts the file and the master hands it the objects: a restart that loses nothing. The master
     * takes this process for dead once its client-ttl passes without heartbeats, as after a crash.
     */
    public void closeForRestart() {
        close(true);
    }

    private void close(boolean forRestart) {
        ticker.shutdownNow();
        if (publishing != null) {
            publishing.shutdownNow();
        }
        if (!forRestart) {
            membership.leave();
            if (diskMembership != null) {
                diskMembership.leave();
            }
        }
        if (publisher != null) {
            publisher.withdraw();
        }
        server.stop(settings.drainTimeout());
        engine.unregisterLocal(segment.name());
        closeMemory(segment, forRestart);
        if (diskSegment != null) {
            engine.unregisterLocal(diskSegment.name());
            closeMemory(diskSegment, forRestart);
        }
    }

    private static void closeMemory(WorkerSegment memory, boolean forRestart) {
        if (forRestart) {
            memory.closeKeepingFile();
        } else {
            memory.close();
        }
    }
}
