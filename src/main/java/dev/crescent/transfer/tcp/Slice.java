package dev.crescent.transfer.tcp;

import dev.crescent.transfer.TransferTicket;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/** One wire request: a piece of a transfer request, small enough to pipeline. */
final class Slice {
    final byte op;
    final byte[] segmentName;
    final long remoteOffset;
    final MemorySegment local;
    final long deadlineNanos;
    /** The master's ticket for the whole request's range (slices share it), or null. */
    final TransferTicket ticket;

    final CompletableFuture<Void> done = new CompletableFuture<>();
    int attempts;
    /** Connection slot of the last attempt, so a retry goes elsewhere. */
    int lastSlot = -1;
    /** The wire request id of the current attempt. */
    long requestId;

    Slice(
            byte op,
            byte[] segmentName,
            long remoteOffset,
            MemorySegment local,
            long deadlineNanos,
            TransferTicket ticket) {
        this.op = op;
        this.segmentName = segmentName;
        this.remoteOffset = remoteOffset;
        this.local = local;
        this.deadlineNanos = deadlineNanos;
        this.ticket = ticket;
    }

    long length() {
        return local.byteSize();
    }
}
