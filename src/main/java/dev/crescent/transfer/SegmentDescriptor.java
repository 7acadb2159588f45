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
 * @param owner    the client id of the process that contributes it
 */
@RegisterForReflection
public record SegmentDescriptor(String name, long capacity, String endpoint, String location, String owner) {

    /** A segment as a mount names it: its location and owner are not stated (the owner is the caller). */
    public SegmentDescriptor(String name, long capacity, String endpoint) {
        this(name, capacity, endpoint, null, null);
    }

    public TransferRequest read(MemorySegment into, long remoteOffset) {
        return new TransferRequest(TransferOp.READ, into, name, endpoint, remoteOffset);
    }

    public TransferRequest write(MemorySegment from, long remoteOffset) {
        return new TransferRequest(TransferOp.WRITE, from, name, endpoint, remoteOffset);
    }
}
