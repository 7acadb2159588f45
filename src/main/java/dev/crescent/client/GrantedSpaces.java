package dev.crescent.client;

import dev.crescent.protocol.PutSpace;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.VersionTable;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Space the master granted this client ahead on same-host segments it maps (issue 20): a put of a size it holds space
 * for copies its bytes into the space through the mapping, then one small master call makes the object there. Each
 * space serves one put; the answer to that put grants the next, so a writer of same-sized objects (KV-cache blocks)
 * keeps about one space per concurrent put.
 *
 * <p>A space is used only within half the lifetime the master gave it, counted from before the request that asked
 * for it, and only while its word in the segment's version table holds the version the master gave it: past its
 * lifetime, or once its segment was unmounted or a restarted master mounted it again, the master may give the memory
 * to another put, which a late copy into it would overwrite. A space this client drops (unmapped, its word gone, or
 * its put failed in transit) is simply never used again.
 */
final class GrantedSpaces {
    /** Past this many sizes the spaces start over: a bound, not a policy (the master frees what is dropped). */
    private static final int MAX_SIZES = 64;

    /**
     * Space for one put of {@code memory.byteSize()} bytes, usable until {@code usableUntilNanos} while its {@code word}
     * in the segment's version table holds {@code version}.
     */
    record Space(long id, MemorySegment memory, ByteBuffer word, long version, long usableUntilNanos) {
        /**
         * Copies the parts back to back into the space, if it is still this client's. @return false when its word no
         * longer holds its version (the master withdrew it: nothing was copied)
         */
        boolean write(List<MemorySegment> parts) {
            if (VersionTable.read(word) != version) {
                return false;
            }
            StoreClient.copyBackToBack(parts, memory);
            return true;
        }
    }

    private final TransferEngine engine;
    private final Map<Long, Queue<Space>> bySize = new ConcurrentHashMap<>();
    /** Whether the master ever granted this client a space (mapped here or not, the master holds it). */
    private volatile boolean granted;

    GrantedSpaces(TransferEngine engine) {
        this.engine = engine;
    }

    /** A space of exactly {@code size} bytes this client may copy into now, or null. It is the caller's alone. */
    Space take(long size) {
        Queue<Space> spaces = bySize.get(size);
        if (spaces == null) {
            return null;
        }
        long now = System.nanoTime();
        for (Space space = spaces.poll(); space != null; space = spaces.poll()) {
            if (now - space.usableUntilNanos() < 0) {
                return space;
            }
        }
        return null;
    }

    /**
     * Keeps space the master granted in an answer to a request sent at {@code askedAtNanos}; ignored when null or
     * when this client does not map its segment.
     */
    void keep(PutSpace granted, long askedAtNanos) {
        if (granted == null) {
            return;
        }
        this.granted = true;
        ReplicaDescriptor replica = granted.replica();
        MemorySegment file = LocationCache.mappedWithWord(engine, replica, replica.length());
        if (file == null) {
            return; // never used: the master frees it when its lifetime ends
        }
        Space space = new Space(
                granted.id(),
                file.asSlice(replica.offset(), replica.length()),
                VersionTable.word(file, replica.versionSlot()),
                granted.version(),
                askedAtNanos + TimeUnit.MILLISECONDS.toNanos(granted.lifetimeMillis()) / 2);
        if (bySize.size() >= MAX_SIZES && !bySize.containsKey(replica.length())) {
            bySize.clear();
        }
        bySize.computeIfAbsent(replica.length(), size -> new ConcurrentLinkedQueue<>())
                .add(space);
    }

    /** Whether the master ever granted this client space: only then has it any to give back on close. */
    boolean everGranted() {
        return granted;
    }

    /** The master refused the put for its key and left the space this client's: it serves a later put. */
    void giveBack(Space space) {
        bySize.computeIfAbsent(space.memory().byteSize(), size -> new ConcurrentLinkedQueue<>())
                .add(space);
    }
}
