package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TransferEngine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads replicas through the transfer engine, like any reader, in pieces of at most 4 MiB into a buffer of the
 * calling thread's, and sums them as it goes. Slow next to a reader's own check, and meant to be: it runs once per
 * object of a taken-over segment, on a thread of its own.
 */
public final class EngineChecksums implements ReplicaChecksums {
    private static final int PIECE_BYTES = 4 << 20;

    private final TransferEngine engine;

    public EngineChecksums(TransferEngine engine) {
        this.engine = engine;
    }

    @Override
    public long crc32c(ReplicaDescriptor range, long size) {
        // An automatic arena: transports may touch the buffer from their own threads, and closing a shared arena
        // is what the native image built here cannot do.
        MemorySegment buffer = Arena.ofAuto().allocate(Math.clamp(size, 1, PIECE_BYTES), 4096);
        CRC32C crc = new CRC32C();
        for (long done = 0; done < size; done += buffer.byteSize()) {
            MemorySegment piece = buffer.asSlice(0, Math.min(buffer.byteSize(), size - done));
            engine.execute(List.of(range.read(piece, done)));
            crc.update(piece.asByteBuffer());
        }
        return crc.getValue();
    }
}
