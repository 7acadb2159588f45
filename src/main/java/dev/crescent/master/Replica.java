package dev.crescent.master;

import dev.crescent.alloc.Allocation;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.PeerAddress;
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

    /**
     * The master's own descriptor for scrubbing this range as it frees it: a revoking WRITE ticket (workers then
     * refuse every earlier ticket for the range) and an endpoint that goes through the worker's transfer server,
     * never around it by shared memory, so the worker learns of the revocation.
     */
    ReplicaDescriptor describeRevoking(TicketSigner signer, long expiresAtMillis) {
        PeerAddress address = PeerAddress.parse(segment.endpoint());
        String endpoint = address.tcp().isEmpty()
                ? segment.endpoint()
                : new PeerAddress("", address.tcp(), "", "", address.ticketed(), address.tls()).format();
        return new ReplicaDescriptor(
                segment.name(),
                endpoint,
                range.offset(),
                range.length(),
                signer.signRevocation(segment.name(), range.offset(), range.length(), expiresAtMillis));
    }

    void release() {
        segment.free(range);
    }
}
