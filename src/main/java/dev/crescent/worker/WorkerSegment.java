package dev.crescent.worker;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.VersionTable;
import dev.crescent.transfer.shm.ShmFiles;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The off-heap memory a worker contributes to the pool. When a shared-memory directory exists the memory is a
 * file there mapped into this process, so a client on the same host can map the very same pages; pages are
 * only touched when written, so a large segment costs nothing at start-up. Otherwise it is plain process memory.
 */
public final class WorkerSegment implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WorkerSegment.class);

    /** Where segment memory lives for the transfer engine's topology choice: host memory, no NUMA binding yet. */
    public static final String LOCATION = "cpu:0";

    private final String name;
    private final Arena arena;
    private final MemorySegment memory;
    private final Path backingFile;

    private WorkerSegment(String name, Arena arena, MemorySegment memory, Path backingFile) {
        this.name = name;
        this.arena = arena;
        this.memory = memory;
        this.backingFile = backingFile;
    }

    /**
     * @param shmDir directory for the backing file; when it does not exist, the segment is anonymous memory
     */
    public static WorkerSegment create(String name, long bytes, Path shmDir) {
        return create(name, bytes, shmDir, null);
    }

    /**
     * @param shmDir   directory for the backing file; when it does not exist, the segment is anonymous memory
     * @param shmGroup group that may read and write the file besides its owner (same-host clients of another
     *                 user); null: the owner only
     */
    public static WorkerSegment create(String name, long bytes, Path shmDir, String shmGroup) {
        if (bytes <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "segment size must be positive: " + bytes);
        }
        Arena arena = Arena.ofShared();
        if (shmDir == null || !Files.isDirectory(shmDir)) {
            return new WorkerSegment(name, arena, arena.allocate(bytes, 4096), null);
        }
        removeOrphans(shmDir);
        // One file per process: two processes on a host never share (and truncate) each other's memory.
        Path file = ShmFiles.file(shmDir, name, ProcessHandle.current().pid());
        try {
            Files.deleteIfExists(file);
            ShmFiles.create(file, shmGroup);
        } catch (IOException e) {
            unmap(arena, name);
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot create segment file " + file + ": " + e, e);
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            // The segment's bytes, then the version words of objects whose locations same-host readers cache.
            long fileBytes = VersionTable.fileBytes(bytes);
            raf.setLength(fileBytes);
            MemorySegment mapped = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, fileBytes, arena);
            VersionTable.format(mapped, bytes);
            return new WorkerSegment(name, arena, mapped.asSlice(0, bytes), file);
        } catch (IOException | RuntimeException e) {
            unmap(arena, name); // the failure that matters is e, not the unmapping
            deleteQuietly(file);
            throw new StoreException(
                    ErrorCode.INTERNAL_ERROR,
                    "cannot map a " + bytes + "-byte segment at " + file + ": " + e.getMessage(),
                    e);
        }
    }

    public String name() {
        return name;
    }

    public MemorySegment memory() {
        return memory;
    }

    public long capacity() {
        return memory.byteSize();
    }

    /**
     * How other nodes reach this segment: this host's id, the TCP transfer server at {@code tcp} (host:port, or
     * "" when there is none) and the shared-memory file when there is one.
     */
    public String endpoint(String tcp) {
        return endpoint(tcp, "", false, false);
    }

    /**
     * @param rdma     the RDMA devices serving the segment ('+'-separated), or ""
     * @param ticketed whether the transfer server serves only requests with a valid ticket
     * @param tls      whether the transfer server speaks TLS only
     */
    public String endpoint(String tcp, String rdma, boolean ticketed, boolean tls) {
        String shm = backingFile == null ? "" : backingFile.toString();
        return new PeerAddress(HostId.current(), tcp, shm, rdma, ticketed, tls).format();
    }

    /** The shared-memory file behind the segment, or null when it is process-private memory. */
    public Path backingFile() {
        return backingFile;
    }

    @Override
    public void close() {
        unmap(arena, name);
        if (backingFile != null) {
            deleteQuietly(backingFile);
        }
    }

    private static void unmap(Arena arena, String name) {
        try {
            arena.close();
        } catch (UnsatisfiedLinkError e) {
            // A native image built without shared-arena support (the toolchain assembled from Maven Central lacks
            // it; GraalVM and Mandrel have it) cannot unmap here: the mapping goes when the process exits.
            LOG.debugf("segment %s stays mapped until exit: %s", name, e.getMessage());
        }
    }

    /** Deletes segment files of processes that died without closing them (kill -9), so /dev/shm does not fill. */
    private static void removeOrphans(Path shmDir) {
        try (Stream<Path> files = Files.list(shmDir)) {
            files.filter(ShmFiles::isSegmentFile)
                    .filter(f -> ShmFiles.pid(f) > 0
                            && ProcessHandle.of(ShmFiles.pid(f)).isEmpty())
                    .forEach(WorkerSegment::deleteQuietly);
        } catch (IOException | RuntimeException ignored) {
            // Best effort: an unreadable directory only means orphans stay.
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // Left behind; removeOrphans deletes it once this process is gone.
        }
    }
}
