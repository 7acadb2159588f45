package dev.crescent.transfer.shm;

import dev.crescent.common.StoreException;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.VersionTable;
import dev.crescent.transfer.VersionTables;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The version tables of same-host segments' shared-memory files, each mapped by this class for as long as its
 * segment stays mounted: the master's own mappings, which no transport dropping its mapping (its file gone) can close
 * under it. Only files that pass {@link ShmFiles#verify} for the very segment are mapped.
 */
public final class SharedVersionTables implements VersionTables {
    private final Set<Path> directories;
    private final ConcurrentHashMap<String, Opened> open = new ConcurrentHashMap<>();

    /**
     * What was found for a segment at its endpoint (a remount elsewhere is another file): its mapped file and table,
     * or neither when this host cannot map it. Both answers are kept until the segment leaves, so the calls on the
     * hot path (every commit, withdrawal and replica list) neither parse endpoints nor touch the file system again.
     */
    private record Opened(String endpoint, Arena arena, VersionTable table) {
        static Opened nothing(String endpoint) {
            return new Opened(endpoint, null, null);
        }
    }

    public SharedVersionTables(Set<Path> directories) {
        this.directories = Set.copyOf(directories);
    }

    @Override
    public VersionTable open(String segment, String endpoint, long capacity) {
        Opened opened = open.get(segment);
        if (opened != null && opened.endpoint().equals(endpoint)) {
            return opened.table();
        }
        return open.compute(segment, (name, current) -> {
                    if (current != null && current.endpoint().equals(endpoint)) {
                        return current;
                    }
                    if (current != null) {
                        unmap(current);
                    }
                    return mapped(segment, endpoint, capacity);
                })
                .table();
    }

    /** The segment's file and table when this host maps it, else {@link Opened#nothing}. */
    private Opened mapped(String segment, String endpoint, long capacity) {
        PeerAddress peer = PeerAddress.parse(endpoint);
        if (peer.shmFile().isEmpty() || !peer.hostId().equals(HostId.current())) {
            return Opened.nothing(endpoint);
        }
        try {
            Path file = ShmFiles.verify(peer.shmFile(), segment, directories);
            Arena arena = Arena.ofShared();
            return new Opened(endpoint, arena, VersionTable.of(ShmFiles.map(file, arena), capacity));
        } catch (StoreException unmappable) {
            return Opened.nothing(endpoint); // not a file this host can map: its objects' locations are not cached
        }
    }

    @Override
    public void close(String segment) {
        Opened gone = open.remove(segment);
        if (gone != null) {
            unmap(gone);
        }
    }

    private static void unmap(Opened opened) {
        if (opened.arena() == null) {
            return;
        }
        try {
            opened.arena().close();
        } catch (UnsatisfiedLinkError | IllegalStateException e) {
            // A native image without shared-arena support keeps the mapping until exit (see WorkerSegment.close).
        }
    }
}
