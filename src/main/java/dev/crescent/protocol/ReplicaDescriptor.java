package dev.crescent.protocol;

import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.TransferTicket;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.lang.foreign.MemorySegment;

/**
 * Where a client writes or reads one replica: segment name, its transfer endpoint, the byte range, and the
 * master's ticket for the transfer (null when access control is off); in a replica list, where the object's version
 * word lies in the segment's shared-memory file ({@link dev.crescent.transfer.VersionTable}; 0: none).
 */
@RegisterForReflection
public record ReplicaDescriptor(
        String segment, String endpoint, long offset, long length, TransferTicket ticket, long versionSlot) {

    public ReplicaDescriptor(String segment, String endpoint, long offset, long length) {
        this(segment, endpoint, offset, length, null);
    }

    public ReplicaDescriptor(String segment, String endpoint, long offset, long length, TransferTicket ticket) {
        this(segment, endpoint, offset, length, ticket, 0);
    }

    /** The same replica with the place of its object's version word in the segment's file (0: none). */
    public ReplicaDescriptor withVersionSlot(long slot) {
        return new ReplicaDescriptor(segment, endpoint, offset, length, ticket, slot);
    }

    /** Writes {@code source} into this replica's range, {@code at} bytes from its start, under its ticket. */
    public TransferRequest write(MemorySegment source, long at) {
        return new TransferRequest(TransferOp.WRITE, source, segment, endpoint, offset + at, ticket);
    }

    /** Reads the first {@code target.byteSize()} bytes of this replica's range into {@code target}. */
    public TransferRequest read(MemorySegment target) {
        return read(target, 0);
    }

    /** Reads {@code target.byteSize()} bytes of this replica's range, {@code at} bytes from its start. */
    public TransferRequest read(MemorySegment target, long at) {
        return new TransferRequest(TransferOp.READ, target, segment, endpoint, offset + at, ticket);
    }
}
