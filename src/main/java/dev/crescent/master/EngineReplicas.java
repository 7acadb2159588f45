package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferEngine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.zip.CRC32C;

/**
 * The master's own reads of replicas, through the transfer engine like any reader's, in pieces of at most 4 MiB
 * into a buffer of the calling thread's: checksums of taken-over objects, and copies of objects moving between
 * tiers. Slow next to a client's transfers, and meant to be: each runs on a thread of its own, off the event loop.
 */
public final class EngineReplicas implements ReplicaChecksums, ReplicaCopier {
    private static final int PIECE_BYTES = 4 << 20;

    private final TransferEngine engine;
    /**
     * Each thread's buffer, made once: a fresh native buffer per object cost the tier's mover most of its time
     * (zeroing, and faulting in new pages). An automatic arena: transports may touch the buffer from their own
     * threads, and closing a shared arena is what the native image built here cannot do.
     */
    private final ThreadLocal<MemorySegment> buffers =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(PIECE_BYTES, 4096));

    public EngineReplicas(TransferEngine engine) {
        this.engine = engine;
    }

    @Override
    public long crc32c(ReplicaDescriptor range, long size) {
        CRC32C crc = new CRC32C();
        readInPieces(range, size, (piece, at) -> crc.update(piece.asByteBuffer()));
        return crc.getValue();
    }

    /**
     * One transfer straight into (or out of) the other side when that side's memory is this process's own (a
     * standalone node, or a master next to its worker): one copy instead of two through the buffer.
     */
    @Override
    public void copy(ReplicaDescriptor from, ReplicaDescriptor to, long bytes) {
        RegisteredMemory local = engine.memory();
        if (local.contains(to.segment())) {
            engine.execute(List.of(from.read(local.slice(to.segment(), to.offset(), bytes))));
        } else if (local.contains(from.segment())) {
            engine.execute(List.of(to.write(local.slice(from.segment(), from.offset(), bytes), 0)));
        } else {
            readInPieces(from, bytes, (piece, at) -> engine.execute(List.of(to.write(piece, at))));
        }
    }

    /** Reads {@code size} bytes of {@code range} piece by piece, handing each to {@code use} with its offset. */
    private void readInPieces(ReplicaDescriptor range, long size, BiConsumer<MemorySegment, Long> use) {
        MemorySegment buffer = buffers.get();
        for (long done = 0; done < size; done += buffer.byteSize()) {
            MemorySegment piece = buffer.asSlice(0, Math.min(buffer.byteSize(), size - done));
            engine.execute(List.of(range.read(piece, done)));
            use.accept(piece, done);
        }
    }
}
