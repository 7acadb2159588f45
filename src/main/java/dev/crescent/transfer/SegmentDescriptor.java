package dev.crescent.transfer;

import io.quarkus.runtime.annotations.RegisterForReflection;

import java.lang.foreign.MemorySegment;

/**
 * One segment of the pool as others see it: what its owner mounts at the master, what a worker publishes in the
 * metadata store ({@code segments/<name>}, lease-bound so it vanishes with the worker), and what a transfer
 * request needs to reach it.
 *
 * @param endpoint how to reach it ({@link PeerAddress} form: host id, tcp, shm file, rdma devices)
 * @param location where its memory lives, for the transfer engine's NIC choice (e.g. {@code cpu:0})
 * @param owner      the client id of the process that contributes it
 * @param contentsId names what the memory holds, kept by a worker that restarts and adopts its segment file (see
 *                   {@link VersionTable}); a master hands the segment's objects to a new owner only when it shows the
 *                   same id. 0: none (process memory, or an older worker)
 * @param tier       DRAM, or DISK for a worker's disk tier (null: DRAM)
 */
@RegisterForReflection
public record SegmentDescriptor(
        String name, long capacity, String endpoint, String location, String owner, long contentsId, SegmentTier tier) {

    public SegmentDescriptor {
        tier = tier == null ? SegmentTier.DRAM : tier;
    }

    public SegmentDescriptor(
            String name, long capacity, String endpoint, String location, String owner, long contentsId) {
        this(name, capacity, endpoint, location, owner, contentsId, SegmentTier.DRAM);
    }

    public SegmentDescriptor(String name, long capacity, String endpoint, String location, String owner) {
        this(name, capacity, endpoint, location, owner, 0);
    }

    /** A segment as a mount names it: its location and owner are not stated (the owner is the caller). */
    public SegmentDescriptor(String name, long capacity, String endpoint) {
        this(name, capacity, endpoint, null, null);
    }

    /** A segment as a mount names it, with the contents id of its memory. */
    public SegmentDescriptor(String name, long capacity, String endpoint, long contentsId) {
        this(name, capacity, endpoint, null, null, contentsId);
    }

    /** A segment as a mount names it, with the contents id of its memory and its tier. */
    public SegmentDescriptor(String name, long capacity, String endpoint, long contentsId, SegmentTier tier) {
        this(name, capacity, endpoint, null, null, contentsId, tier);
    }

    public TransferRequest read(MemorySegment into, long remoteOffset) {
        return new TransferRequest(TransferOp.READ, into, name, endpoint, remoteOffset);
    }

    public TransferRequest write(MemorySegment from, long remoteOffset) {
        return new TransferRequest(TransferOp.WRITE, from, name, endpoint, remoteOffset);
    }
}
