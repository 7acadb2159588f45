package dev.crescent.master;

import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.VersionTable;
import dev.crescent.transfer.shm.SharedVersionTables;
import dev.crescent.transfer.shm.ShmFiles;
import dev.crescent.worker.WorkerSegment;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.Set;

/**
 * A real worker segment "seg" in a shared-memory file, mapped as a client on its host maps it, for masters that use it
 * with version tables (what a standalone server does).
 */
final class SameHostSegment implements AutoCloseable {
    private final Path dir;
    private final long capacity;
    private final Arena arena = Arena.ofShared();
    private final WorkerSegment segment;
    /** The segment's file as a same-host client maps it: its bytes, then its version words. */
    final MemorySegment file;

    SameHostSegment(Path dir, long capacity) {
        this.dir = dir;
        this.capacity = capacity;
        this.segment = WorkerSegment.create("seg", capacity, dir);
        this.file = ShmFiles.map(segment.backingFile(), arena);
    }

    /** The version word at {@code slot} of the file, read as a same-host reader reads it (0: none published). */
    long word(long slot) {
        return VersionTable.read(VersionTable.word(file, slot));
    }

    /** Where a master reaches the segment: its file on this host. */
    String endpoint() {
        return segment.endpoint("");
    }

    /** A fresh master with the segment mounted; {@code tickets} null: access control off. */
    Master master(InstantSource clock, TicketSigner tickets) {
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock, tickets);
        master.attachVersionTables(new SharedVersionTables(Set.of(dir)));
        master.mountSegment("worker", "seg", capacity, endpoint());
        return master;
    }

    @Override
    public void close() {
        arena.close();
        segment.close();
    }
}
