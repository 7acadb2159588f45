package dev.crescent.transfer.shm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file sized for a request ring in shared memory (a temporary directory where there is none), for tests that map it
 * as the master and a caller do; mappings end and the file goes on close.
 */
public final class RingFile implements AutoCloseable {
    private final Path file;
    private final long bytes;
    private final Arena arena = Arena.ofShared();

    public RingFile(int slots, int payloadBytes) throws IOException {
        Path directory = Files.isDirectory(Path.of("/dev/shm"))
                ? Path.of("/dev/shm")
                : Path.of(System.getProperty("java.io.tmpdir"));
        this.file = Files.createTempFile(directory, "crescent-ring-test", "");
        this.bytes = RequestRing.fileBytes(slots, payloadBytes);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(1), bytes - 1);
        }
    }

    public Path path() {
        return file;
    }

    /** A new mapping of the whole file, as another process would have. */
    public MemorySegment mapped() throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        }
    }

    /** Memory of the ring's size that is not the file. */
    public MemorySegment unrelated() {
        return arena.allocate(bytes);
    }

    @Override
    public void close() throws IOException {
        arena.close();
        Files.deleteIfExists(file);
    }
}
