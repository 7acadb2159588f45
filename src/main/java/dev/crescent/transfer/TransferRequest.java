package dev.crescent.transfer;

import java.lang.foreign.MemorySegment;

/**
 * One transfer between a local buffer and a range of a (possibly remote) segment. The length is the local
 * buffer's size.
 *
 * @param op             READ into {@code local} or WRITE from it
 * @param local          the caller's buffer (a slice of registered or heap memory)
 * @param remoteSegment  the target segment's name
 * @param remoteEndpoint the target's transport endpoint (host:port); empty when it lives in this JVM
 * @param remoteOffset   byte offset inside the target segment
 * @param ticket         the master's permission for this range, shown to workers that enforce access; or null
 */
public record TransferRequest(
        TransferOp op,
        MemorySegment local,
        String remoteSegment,
        String remoteEndpoint,
        long remoteOffset,
        TransferTicket ticket) {

    public TransferRequest(
            TransferOp op, MemorySegment local, String remoteSegment, String remoteEndpoint, long remoteOffset) {
        this(op, local, remoteSegment, remoteEndpoint, remoteOffset, null);
    }

    public long length() {
        return local.byteSize();
    }
}
