package dev.crescent.protocol;

import dev.crescent.transfer.TransferTicket;
import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * Where a client writes or reads one replica: segment name, its transfer endpoint, the byte range, and the
 * master's ticket for the transfer (null when access control is off).
 */
@RegisterForReflection
public record ReplicaDescriptor(String segment, String endpoint, long offset, long length, TransferTicket ticket) {

    public ReplicaDescriptor(String segment, String endpoint, long offset, long length) {
        this(segment, endpoint, offset, length, null);
    }
}
