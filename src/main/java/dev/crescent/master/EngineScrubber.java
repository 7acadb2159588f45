package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferRequest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Scrubs through the transfer engine, like any writer: the range is overwritten from one shared buffer of zeros
 * (never written to, so every request may read it at once), in writes of at most its size. The buffer is this
 * object's, allocated once and kept for the life of the process.
 */
public final class EngineScrubber implements Scrubber {
    private static final int ZEROS_BYTES = 4 << 20;

    private final TransferEngine engine;
    private final MemorySegment zeros = Arena.global().allocate(ZEROS_BYTES, 4096);

    public EngineScrubber(TransferEngine engine) {
        this.engine = engine;
    }

    @Override
    public CompletableFuture<Void> zero(ReplicaDescriptor range) {
        List<TransferRequest> writes = new ArrayList<>();
        for (long done = 0; done < range.length(); done += ZEROS_BYTES) {
            long length = Math.min(ZEROS_BYTES, range.length() - done);
            writes.add(range.write(zeros.asSlice(0, length), done));
        }
        return engine.submit(writes).future().thenAccept(batch -> {
            for (int i = 0; i < writes.size(); i++) {
                Throwable failure = batch.failure(i);
                if (failure != null) {
                    throw new IllegalStateException("scrubbing " + range + " failed", failure);
                }
            }
        });
    }
}
