package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.TransferOp;

/** One copy of an object: a range of a mounted segment. */
public record Replica(MountedSegment segment, Allocation range) {

    public ReplicaDescriptor describe() {
        return new ReplicaDescriptor(segment.name(), segment.endpoint(), range.offset(), range.length());
    }

    /** The descriptor with a ticket for {@code op} on exactly this range until {@code expiresAtMillis}. */
    ReplicaDescriptor describe(TicketSigner signer, TransferOp op, long expiresAtMillis) {
        if (signer == null) {
            return describe();
        }
        return new ReplicaDescriptor(
                segment.name(),
                segment.endpoint(),
                range.offset(),
                range.length(),
                signer.sign(op, segment.name(), range.offset(), range.length(), expiresAtMillis));
    }

    void release() {
        segment.free(range);
    }
}
