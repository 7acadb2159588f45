package dev.crescent.transfer.shm;

import dev.crescent.common.StoreException;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.Transport;
import dev.crescent.transfer.VersionTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Same host: the worker's segment is a file in shared memory, so this process maps the very same pages and a
 * transfer is one memory copy, with no socket and no worker thread involved. Mappings are cached per file and
 * dropped when the file disappears (its worker stopped).
 */
public final class ShmTransport implements Transport {
    private final ConcurrentHashMap<String, Mapping> mappings = new ConcurrentHashMap<>();
    /** The only directories whose segment files this transport maps (see {@link ShmFiles#verify}). */
    private final Set<Path> directories;

    public ShmTransport() {
        this(ShmFiles.DEFAULT_DIRECTORIES);
    }

    public ShmTransport(Set<Path> directories) {
        this.directories = Set.copyOf(directories);
    }

    /**
     * A mapped segment file, the segment's own bytes in it (transfers reach no further: the file's
     * {@link VersionTable} is the master's), and the segment it was verified to belong to.
     */
    private record Mapping(Arena arena, MemorySegment memory, MemorySegment data, String segment) {}

    @Override
    public String name() {
        return "shm";
    }

    @Override
    public boolean copiesInMemory() {
        return true;
    }

    @Override
    public boolean mapsSameHostMemory() {
        return true;
    }

    @Override
    public boolean canReach(TransferRequest request) {
        PeerAddress peer = PeerAddress.parse(request.remoteEndpoint());
        if (peer.shmFile().isEmpty() || !peer.hostId().equals(HostId.current())) {
            return false;
        }
        Path file = Path.of(peer.shmFile());
        if (Files.isWritable(file)) {
            return true; // a file of another user without our group falls back to the network
        }
        drop(peer.shmFile());
        return false;
    }

    @Override
    public CompletableFuture<Void> submit(TransferRequest request) {
        try {
            MemorySegment range =
                    view(request.remoteSegment(), request.remoteEndpoint(), request.remoteOffset(), request.length());
            if (request.op() == TransferOp.WRITE) {
                MemorySegment.copy(request.local(), 0, range, 0, range.byteSize());
            } else {
                MemorySegment.copy(range, 0, request.local(), 0, range.byteSize());
            }
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public MemorySegment view(String segment, String endpoint, long offset, long length) {
        MemorySegment data = map(PeerAddress.parse(endpoint).shmFile(), segment).data();
        RegisteredMemory.checkRange(segment, data.byteSize(), offset, length);
        return data.asSlice(offset, length);
    }

    @Override
    public MemorySegment sameHostMapping(String segment, String endpoint) {
        PeerAddress peer = PeerAddress.parse(endpoint);
        if (peer.shmFile().isEmpty() || !peer.hostId().equals(HostId.current())) {
            return null;
        }
        try {
            return map(peer.shmFile(), segment).memory();
        } catch (StoreException unmappable) {
            return null;
        }
    }

    /**
     * Maps the segment's file once it is shown to be that segment's file, never following a link. The file system
     * is asked once per file; later requests only check that they name the segment the mapping was verified for.
     */
    private Mapping map(String file, String segment) {
        Mapping cached = mappings.get(file);
        if (cached != null && cached.segment().equals(segment)) {
            return cached;
        }
        Path verified = ShmFiles.verify(file, segment, directories);
        return mappings.computeIfAbsent(file, f -> {
            Arena arena = Arena.ofShared();
            MemorySegment whole = ShmFiles.map(verified, arena);
            return new Mapping(arena, whole, whole.asSlice(0, VersionTable.segmentBytes(whole)), segment);
        });
    }

    private void drop(String file) {
        Mapping gone = mappings.remove(file);
        if (gone != null) {
            gone.arena().close();
        }
    }

    @Override
    public void close() {
        mappings.keySet().forEach(this::drop);
    }
}
