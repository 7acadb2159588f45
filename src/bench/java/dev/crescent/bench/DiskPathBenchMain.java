package dev.crescent.bench;

import com.sun.nio.file.ExtendedOpenOption;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The file I/O paths a disk tier could take, measured in one directory: copies into and out of a mapped file (what
 * the tier does: its file is mapped and moved objects are copied into it), {@code FileChannel} reads and writes
 * through the page cache, and {@code FileChannel} with direct I/O ({@code O_DIRECT}, buffers and offsets aligned),
 * which bypasses it. Each path gets a fresh file, written then read in blocks cycling through it for the given time.
 *
 * <p>{@code DiskPathBenchMain <directory> <file bytes> <seconds> <block bytes>...}; prints one line per path and
 * block: GB/s written and read.
 */
public final class DiskPathBenchMain {
    private static final int ALIGN = 4096;

    private DiskPathBenchMain() {}

    /** One way of moving a block between memory and the file at an offset. */
    private interface IoPath extends AutoCloseable {
        void write(long offset, int length) throws IOException;

        void read(long offset, int length) throws IOException;

        @Override
        void close() throws IOException;
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long fileBytes = Long.parseLong(args[1]);
        double seconds = Double.parseDouble(args[2]);
        List<Integer> blocks = new ArrayList<>();
        for (int i = 3; i < args.length; i++) {
            blocks.add(Integer.parseInt(args[i]));
        }
        System.out.printf("%-22s %8s %10s %10s%n", "path", "block", "write GB/s", "read GB/s");
        for (int block : blocks) {
            for (String kind : List.of("mapped (the tier)", "FileChannel", "FileChannel O_DIRECT")) {
                Path file = Files.createTempFile(dir, "path-bench", ".dat");
                try (Arena arena = Arena.ofShared();
                        IoPath path = open(kind, file, fileBytes, block, arena)) {
                    double write = measure(path, fileBytes, block, seconds, true);
                    double read = measure(path, fileBytes, block, seconds, false);
                    System.out.printf("%-22s %7dK %10.2f %10.2f%n", kind, block >> 10, write, read);
                } finally {
                    Files.deleteIfExists(file);
                }
            }
        }
    }

    /** GB/s of blocks moved for {@code seconds}, cycling through the file (a write pass covers it all first). */
    private static double measure(IoPath path, long fileBytes, int block, double seconds, boolean write)
            throws IOException {
        long slots = fileBytes / block;
        long moved = 0;
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        for (long i = 0; System.nanoTime() < end || (write && i < slots); i++) {
            long offset = (i % slots) * block;
            if (write) {
                path.write(offset, block);
            } else {
                path.read(offset, block);
            }
            moved += block;
        }
        return moved / ((System.nanoTime() - start) / 1e9) / 1e9;
    }

    private static IoPath open(String kind, Path file, long fileBytes, int block, Arena arena) throws IOException {
        // The source and destination in memory: touched, as an object's bytes in DRAM are.
        MemorySegment memory = arena.allocate(block, ALIGN).fill((byte) 7);
        if (kind.startsWith("mapped")) {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            channel.truncate(fileBytes);
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, fileBytes, arena);
            return new IoPath() {
                @Override
                public void write(long offset, int length) {
                    MemorySegment.copy(memory, 0, mapped, offset, length);
                }

                @Override
                public void read(long offset, int length) {
                    MemorySegment.copy(mapped, offset, memory, 0, length);
                }

                @Override
                public void close() throws IOException {
                    channel.close();
                }
            };
        }
        List<OpenOption> options = new ArrayList<>(List.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
        if (kind.endsWith("O_DIRECT")) {
            options.add(ExtendedOpenOption.DIRECT);
        }
        FileChannel channel = FileChannel.open(file, options.toArray(OpenOption[]::new));
        ByteBuffer buffer = memory.asByteBuffer();
        return new IoPath() {
            @Override
            public void write(long offset, int length) throws IOException {
                buffer.clear().limit(length);
                while (buffer.hasRemaining()) {
                    channel.write(buffer, offset + buffer.position());
                }
            }

            @Override
            public void read(long offset, int length) throws IOException {
                buffer.clear().limit(length);
                while (buffer.hasRemaining()) {
                    if (channel.read(buffer, offset + buffer.position()) < 0) {
                        throw new IOException("end of file at " + (offset + buffer.position()));
                    }
                }
            }

            @Override
            public void close() throws IOException {
                channel.close();
            }
        };
    }
}
