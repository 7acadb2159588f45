package dev.crescent.transfer;

import java.lang.foreign.MemorySegment;

/** A segment opened by name: what a request needs to reach it. */
public record RemoteSegment(String name, String endpoint, long size) {

    public TransferRequest read(MemorySegment into, long remoteOffset) {
        return new TransferRequest(TransferOp.READ, into, name, endpoint, remoteOffset);
    }

    public TransferRequest write(MemorySegment from, long remoteOffset) {
        return new TransferRequest(TransferOp.WRITE, from, name, endpoint, remoteOffset);
    }
}
