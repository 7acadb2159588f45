package dev.crescent.transfer.local;

import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.Transport;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;

/**
 * Target segment registered in this JVM: one bounds-checked memory copy on the caller's thread. Tickets are not
 * checked (the caller is this process), but a revoking one raises its fence, for the transports that serve this
 * memory to others.
 */
public final class LocalTransport implements Transport {
    private final RegisteredMemory memory;

    public LocalTransport(RegisteredMemory memory) {
        this.memory = memory;
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public boolean copiesInMemory() {
        return true;
    }

    @Override
    public boolean canReach(TransferRequest request) {
        return memory.contains(request.remoteSegment());
    }

    @Override
    public MemorySegment view(String segment, String endpoint, long offset, long length) {
        return memory.slice(segment, offset, length);
    }

    @Override
    public CompletableFuture<Void> submit(TransferRequest request) {
        try {
            MemorySegment remote =
                    view(request.remoteSegment(), request.remoteEndpoint(), request.remoteOffset(), request.length());
            if (request.ticket() != null && request.ticket().revokes()) {
                // The master freeing a range of memory this process serves: fence it before scrubbing.
                memory.fences().raise(request.ticket(), System.currentTimeMillis());
            }
            if (request.op() == TransferOp.WRITE) {
                MemorySegment.copy(request.local(), 0, remote, 0, request.length());
            } else {
                MemorySegment.copy(remote, 0, request.local(), 0, request.length());
            }
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
