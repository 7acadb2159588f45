package dev.crescent.transfer.tcp;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/** One wire request: a piece of a transfer request, small enough to pipeline. */
final class Slice {
    final byte op;
    final byte[] segmentName;
    final long remoteOffset;
    final MemorySegment local;
    final long deadlineNanos;
    final CompletableFuture<Void> done = new CompletableFuture<>();
    int attempts;
    /** Connection slot of the last attempt, so a retry goes elsewhere. */
    int lastSlot = -1;

    Slice(byte op, byte[] segmentName, long remoteOffset, MemorySegment local, long deadlineNanos) {
        this.op = op;
        this.segmentName = segmentName;
        this.remoteOffset = remoteOffset;
        this.local = local;
        this.deadlineNanos = deadlineNanos;
    }

    long length() {
        return local.byteSize();
    }
}
