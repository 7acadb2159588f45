package dev.crescent.client;

import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.VersionTable;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * Locations of objects this client read from same-host segments it maps, kept so that a repeated get is one memory
 * copy with no master call (issue 20). An entry is used only while the object's version word in the segment's file
 * ({@link VersionTable}) holds the version the master answered, read before and after the copy: the master withdraws
 * a version before the object's memory can change (remove, upsert, eviction, unmount), so a copy framed by two reads
 * of that version holds that version's bytes. Any other copy is thrown away and the master asked, as is everything
 * once an entry is older than the time to live: reads that skip the master are reads eviction does not count, and an
 * object read only from caches would look cold to it.
 */
final class LocationCache {
    /** Past this many entries the cache starts over: a bound, not a policy (entries are cheap to make again). */
    private static final int MAX_ENTRIES = 1 << 16;

    /** A cached location: the object's bytes at {@code offset} of the mapped {@code file}, current while its word is. */
    private record Entry(
            long size,
            Long crc32c,
            MemorySegment file,
            long offset,
            ByteBuffer word,
            long version,
            long expiresAtNanos) {}

    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    private final TransferEngine engine;
    private final long ttlNanos;
    private final boolean checksums;

    /** @param checksums verify a cached copy against the CRC32C recorded at put, as every read does */
    LocationCache(TransferEngine engine, Duration ttl, boolean checksums) {
        this.engine = engine;
        this.ttlNanos = ttl.toNanos();
        this.checksums = checksums;
    }

    /** The size of the object cached under {@code key}, or -1 when there is no live entry. */
    long size(String key) {
        Entry entry = live(key);
        return entry == null ? -1 : entry.size();
    }

    /**
     * Copies the object into {@code target} when a cached location is current.
     *
     * @return the object's size, or -1 when the master must be asked (no entry, a version gone, a target too small)
     */
    long read(String key, MemorySegment target) {
        Entry entry = live(key);
        if (entry == null || target.byteSize() < entry.size()) {
            return -1;
        }
        try {
            if (VersionTable.read(entry.word()) == entry.version()) {
                MemorySegment.copy(entry.file(), entry.offset(), target, 0, entry.size());
                VarHandle.acquireFence(); // the copy's loads before the second read of the word
                if (VersionTable.read(entry.word()) == entry.version() && intact(entry, target)) {
                    return entry.size();
                }
            }
        } catch (IllegalStateException unmapped) {
            // The transport dropped its mapping (the segment's file is gone): ask the master.
        }
        entries.remove(key, entry);
        return -1;
    }

    /** Caches where {@code key} was just read from, when a replica on a segment this client maps has a version word. */
    void remember(String key, ObjectLocation location) {
        if (key == null || ttlNanos <= 0 || location.version() == 0 || location.value() != null) {
            return;
        }
        for (ReplicaDescriptor replica : location.replicas()) {
            MemorySegment file = mappedWithWord(engine, replica, location.size());
            if (file == null) {
                continue;
            }
            if (entries.size() >= MAX_ENTRIES) {
                entries.clear();
            }
            entries.put(
                    key,
                    new Entry(
                            location.size(),
                            location.crc32c(),
                            file,
                            replica.offset(),
                            VersionTable.word(file, replica.versionSlot()),
                            location.version(),
                            System.nanoTime() + ttlNanos));
            return;
        }
    }

    /**
     * The file of {@code replica}'s segment as this client maps it, when {@code bytes} at the replica's offset and its
     * version word both lie inside it; else null (not mapped here, no word, or an answer that does not fit the file).
     */
    static MemorySegment mappedWithWord(TransferEngine engine, ReplicaDescriptor replica, long bytes) {
        long slot = replica.versionSlot();
        if (slot <= 0 || slot % Long.BYTES != 0 || bytes <= 0) {
            return null;
        }
        MemorySegment file = engine.sameHostMapping(replica.segment(), replica.endpoint());
        return file == null || slot + Long.BYTES > file.byteSize() || replica.offset() + bytes > file.byteSize()
                ? null
                : file;
    }

    /** This client changed or removed the object: its cached location is of no more use. */
    void forget(String key) {
        if (key != null) { // a null key is the master's to refuse (INVALID_KEY), like any bad key
            entries.remove(key);
        }
    }

    private Entry live(String key) {
        Entry entry = key == null ? null : entries.get(key);
        if (entry != null && System.nanoTime() - entry.expiresAtNanos() > 0) {
            entries.remove(key, entry);
            return null;
        }
        return entry;
    }

    private boolean intact(Entry entry, MemorySegment copy) {
        if (!checksums || entry.crc32c() == null) {
            return true;
        }
        CRC32C crc = new CRC32C();
        crc.update(copy.asSlice(0, entry.size()).asByteBuffer());
        return crc.getValue() == entry.crc32c();
    }
}
