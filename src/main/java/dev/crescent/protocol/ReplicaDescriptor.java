package dev.crescent.protocol;

import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.TransferTicket;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.lang.foreign.MemorySegment;

/**
 * Where a client writes or reads one replica: segment name, its transfer endpoint, the byte range, and the
 * master's ticket for the transfer (null when access control is off).
 */
@RegisterForReflection
public record ReplicaDescriptor(String segment, String endpoint, long offset, long length, TransferTicket ticket) {

    public ReplicaDescriptor(String segment, String endpoint, long offset, long length) {
        this(segment, endpoint, offset, length, null);
    }

    /** Writes {@code source} into this replica's range, {@code at} bytes from its start, under its ticket. */
    public TransferRequest write(MemorySegment source, long at) {
        return new TransferRequest(TransferOp.WRITE, source, segment, endpoint, offset + at, ticket);
    }

    /** Reads the first {@code target.byteSize()} bytes of this replica's range into {@code target}. */
    public TransferRequest read(MemorySegment target) {
        return new TransferRequest(TransferOp.READ, target, segment, endpoint, offset, ticket);
    }
}
