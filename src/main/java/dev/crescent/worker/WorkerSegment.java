package dev.crescent.worker;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.FileCleanup;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.VersionTable;
import dev.crescent.transfer.shm.ShmFiles;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

/**
 * The off-heap memory a worker contributes to the pool. When a shared-memory directory exists the memory is a
 * file there mapped into this process, so a client on the same host can map the very same pages; pages are
 * only touched when written, so a large segment costs nothing at start-up. Otherwise it is plain process memory.
 *
 * <p>A file outlives its process. A segment opened with a file of the same name left by a process that died (kill
 * -9, a crash) adopts it, objects and all: the master hands the segment over to the new process when it shows the
 * file's contents id ({@link VersionTable}), or answers that it no longer holds those objects, and the memory is
 * then cleared ({@link #clearContents}) before it is mounted empty (issue 21, lossless worker restart).
 */
public final class WorkerSegment implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(WorkerSegment.class);

    /** Where segment memory lives for the transfer engine's topology choice: host memory, no NUMA binding yet. */
    public static final String LOCATION = "cpu:0";

    /** How long a dead process's file of another segment is kept for its restart, unless configured otherwise. */
    public static final Duration DEFAULT_ORPHAN_RETENTION = Duration.ofMinutes(10);

    private final String name;
    private final Arena arena;
    private final MemorySegment memory;
    private final Path backingFile;
    /** The whole mapping: a file's bytes, version words and trailer; for process memory, the segment itself. */
    private final MemorySegment wholeFile;

    private final long contentsId;
    /** Whether the memory may hold objects written before this process mounted it (an adopted file). */
    private volatile boolean holdsContents;

    private WorkerSegment(
            String name,
            Arena arena,
            MemorySegment wholeFile,
            long bytes,
            Path backingFile,
            long contentsId,
            boolean holdsContents) {
        this.name = name;
        this.arena = arena;
        this.wholeFile = wholeFile;
        this.memory = wholeFile.asSlice(0, bytes);
        this.backingFile = backingFile;
        this.contentsId = contentsId;
        this.holdsContents = holdsContents;
    }

    /**
     * A fresh segment, never an adopted one: a file a dead process left for this segment is deleted (other segments'
     * are kept for their restart for {@link #DEFAULT_ORPHAN_RETENTION}).
     *
     * @param shmDir directory for the backing file; when it does not exist, the segment is anonymous memory
     */
    public static WorkerSegment create(String name, long bytes, Path shmDir) {
        return create(name, bytes, shmDir, null);
    }

    /**
     * As {@link #create(String, long, Path)}.
     *
     * @param shmGroup group that may read and write the file besides its owner (same-host clients of another
     *                 user); null: the owner only
     */
    public static WorkerSegment create(String name, long bytes, Path shmDir, String shmGroup) {
        return open(name, bytes, shmDir, shmGroup, DEFAULT_ORPHAN_RETENTION, false);
    }

    /**
     * A segment in a file of its own, adopting the file a dead process left for this segment when {@code adopt}.
     *
     * @param orphanRetention how long after its process died a file of another segment is kept for that segment's
     *                        restart; older ones are deleted
     */
    public static WorkerSegment open(
            String name, long bytes, Path shmDir, String shmGroup, Duration orphanRetention, boolean adopt) {
        if (bytes <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "segment size must be positive: " + bytes);
        }
        if (shmDir == null || !Files.isDirectory(shmDir)) {
            Arena arena = Arena.ofShared();
            return new WorkerSegment(name, arena, arena.allocate(bytes, 4096), bytes, null, 0, false);
        }
        // One file per process: two processes on a host never share (and truncate) each other's memory.
        Path file = ShmFiles.file(shmDir, name, ProcessHandle.current().pid());
        Path left = OrphanFiles.sweep(shmDir, name, orphanRetention, file);
        if (left != null && adopt) {
            WorkerSegment adopted = adopt(name, bytes, shmDir, left, file);
            if (adopted != null) {
                return adopted;
            }
        } else if (left != null) {
            OrphanFiles.delete(left, "its process died, and segments opened here start empty");
        }
        return createFile(name, bytes, shmGroup, file);
    }

    private static WorkerSegment createFile(String name, long bytes, String shmGroup, Path file) {
        Arena arena = Arena.ofShared();
        try {
            Files.deleteIfExists(file);
            // The segment's bytes, then the version words of objects whose locations same-host readers cache.
            MemorySegment mapped = ShmFiles.createMapped(file, shmGroup, VersionTable.fileBytes(bytes), arena);
            long contentsId = newContentsId();
            VersionTable.format(mapped, bytes, contentsId);
            return new WorkerSegment(name, arena, mapped, bytes, file, contentsId, false);
        } catch (IOException | RuntimeException e) {
            unmap(arena, name); // the failure that matters is e, not the unmapping
            FileCleanup.deleteIfPresent(file); // else a later sweep takes it once this process is gone (OrphanFiles)
            throw new StoreException(
                    ErrorCode.INTERNAL_ERROR,
                    "cannot create a " + bytes + "-byte segment at " + file + ": " + e.getMessage(),
                    e);
        }
    }

    /**
     * Takes over the file {@code left} of a dead process: renamed to this process's name (readers that mapped it
     * keep their mapping) and mapped as it is. A file that is not a whole segment file of this size with a contents
     * id is deleted, saying why.
     *
     * @return the adopted segment, or null when the file was not fit to adopt
     */
    private static WorkerSegment adopt(String name, long bytes, Path shmDir, Path left, Path file) {
        try {
            ShmFiles.verify(left.toString(), name, Set.of(shmDir));
            long expected = ShmFiles.fileBytes(shmDir, VersionTable.fileBytes(bytes));
            long size = Files.size(left);
            if (size != expected) {
                OrphanFiles.delete(
                        left,
                        "not adopted: it is " + size + " bytes, where a " + bytes + "-byte segment's file is "
                                + expected + " (the segment size changed)");
                return null;
            }
            if (!left.equals(file)) {
                Files.move(left, file, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException | StoreException e) {
            OrphanFiles.delete(left, "not adopted: " + e.getMessage());
            return null;
        }
        Arena arena = Arena.ofShared();
        MemorySegment mapped;
        try {
            mapped = ShmFiles.map(file, arena); // closes the arena when it cannot map
        } catch (StoreException e) {
            OrphanFiles.delete(file, "not adopted: " + e.getMessage());
            return null;
        }
        long contentsId = VersionTable.contentsId(mapped, bytes);
        if (contentsId == 0 || VersionTable.of(mapped, bytes) == null) {
            unmap(arena, name);
            OrphanFiles.delete(
                    file,
                    "not adopted: it has no valid trailer or contents id (an older version's file, " + "or damaged)");
            return null;
        }
        LOG.infof(
                "segment %s adopts %s, left by process %d (contents id %x): the master keeps its objects if it still "
                        + "holds them",
                name, file, ShmFiles.pid(left), contentsId);
        return new WorkerSegment(name, arena, mapped, bytes, file, contentsId, true);
    }

    private static long newContentsId() {
        long id = 0;
        while (id == 0) {
            id = new SecureRandom().nextLong();
        }
        return id;
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

    /** What the memory holds, as its file names it (kept by a process that adopts the file); 0 for process memory. */
    public long contentsId() {
        return contentsId;
    }

    /** Whether the memory may hold objects written before it was last mounted (an adopted file, not yet cleared). */
    public boolean holdsContents() {
        return holdsContents;
    }

    /**
     * Clears the segment and withdraws every version: for memory whose objects the master no longer holds (nothing a
     * reader gets may be an earlier object's bytes). Only while the segment is not mounted: no one may be handed a
     * range of it meanwhile. A file is cut to nothing and extended again, which frees its pages at once (the mapping
     * stays, and reads zeros: the bytes and every version word), where writing zeros would take time and touch every
     * page of the segment; its trailer and contents id are then written again.
     */
    public void clearContents() {
        if (backingFile == null) {
            memory.fill((byte) 0);
        } else {
            try (FileChannel channel =
                    FileChannel.open(backingFile, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                channel.truncate(0);
                ShmFiles.setLength(backingFile, channel, wholeFile.byteSize());
            } catch (IOException e) {
                LOG.warnf("segment %s: cannot cut its file (%s); writing zeros instead", name, e);
                wholeFile.fill((byte) 0);
            }
            VersionTable.format(wholeFile, memory.byteSize(), contentsId);
        }
        holdsContents = false;
    }

    /**
     * Marks the file as alive now (its modification time), so other processes on the host keep it for a restart of
     * this segment for the retention after this process dies, not after it was created.
     */
    public void stampAlive() {
        if (backingFile != null) {
            try {
                Files.setLastModifiedTime(backingFile, FileTime.from(Instant.now()));
            } catch (IOException e) {
                LOG.debugf("cannot stamp segment file %s: %s", backingFile, e);
            }
        }
    }

    @Override
    public void close() {
        unmap(arena, name);
        if (backingFile != null) {
            FileCleanup.deleteIfPresent(backingFile); // else a later sweep takes it (OrphanFiles)
        }
    }

    /** Unmaps the memory but leaves the file, for the next process of this segment to adopt. */
    public void closeKeepingFile() {
        stampAlive();
        unmap(arena, name);
        if (backingFile != null) {
            LOG.infof("segment %s: file %s kept for the next start of this segment", name, backingFile);
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
}
