package dev.crescent.transfer;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The version words of a segment kept in shared memory: a table after the segment's bytes in its file, where the
 * master keeps the version of each complete object whose location readers may cache, and 0 once that version is
 * gone (removed, replaced, evicted, or its segment unmounted). A reader that maps the file and cached an object's
 * location reads the word before and after copying the bytes: the copy is that version's if the word held it both
 * times, since the master withdraws a version before its memory can be written again (issue 20: a repeated get in
 * no round trip).
 *
 * <p>An object's word is found by hashing its offset into a fixed number of slots (one per 16 KiB of segment, at
 * least 1024), so the table costs 0.05 % of the segment. Two objects on one slot only cost caching: the later
 * publication overwrites the earlier, whose readers then ask the master again. Versions are random 64-bit numbers,
 * never reused, so a word never holds a version that is gone.
 *
 * <p>Layout: {@code [segment bytes][pad to 8][slots x 8 bytes][pad to the file system's page][contents id][magic,
 * capacity, table offset, log2 slots]}. The trailer lets a master find the table from the file alone, and a transport
 * bound transfers to the segment's bytes ({@link #segmentBytes}); a file without it (an older worker) has no table.
 * The contents id is a random number drawn when the file is created and kept while the file lives, through restarts
 * of the worker that adopts it: a master hands a segment's objects over to a new process only when it shows the same
 * number (issue 21, lossless worker restart). It lies before the trailer, so readers of the older four-word trailer
 * still find theirs at the end of the file.
 */
public final class VersionTable {
    private static final long MAGIC = 0x43524553_56455253L; // "CRESVERS"
    private static final int TRAILER_BYTES = 4 * Long.BYTES;
    /** The contents id and the trailer. */
    private static final int TAIL_BYTES = Long.BYTES + TRAILER_BYTES;

    private static final int MIN_SLOTS_LOG2 = 10;
    private static final int BYTES_PER_SLOT_LOG2 = 14;
    /** At most 2^28 slots (2 GiB of words, what one byte buffer spans): segments past 4 TiB share them more. */
    private static final int MAX_SLOTS_LOG2 = 28;

    /**
     * The table's words. Byte buffers, not {@code MemorySegment.get/set} or var handles: segment accessors go through
     * var handles, which the native image built here does not take (the worker failed to start); a direct buffer's
     * {@code getLong}/{@code putLong} at an aligned index is one 8-byte access.
     */
    private final ByteBuffer words;

    private final long offset;
    private final int slotsLog2;

    private VersionTable(MemorySegment file, long offset, int slotsLog2) {
        this.words = buffer(file.asSlice(offset, (long) Long.BYTES << slotsLog2));
        this.offset = offset;
        this.slotsLog2 = slotsLog2;
    }

    /** The least size of a segment file holding {@code capacity} bytes and their table (see {@link #format}). */
    public static long fileBytes(long capacity) {
        return tableOffset(capacity) + ((long) Long.BYTES << slotsLog2(capacity)) + TAIL_BYTES;
    }

    /**
     * Writes the trailer of a fresh (zeroed) file of at least {@link #fileBytes} for {@code capacity} bytes: no
     * versions yet. The contents id and the trailer go at the file's end, and the trailer says where the table is.
     *
     * @param contentsId the file's contents id, not 0 (see the class comment)
     */
    public static VersionTable format(MemorySegment file, long capacity, long contentsId) {
        if (contentsId == 0) {
            throw new IllegalArgumentException("a contents id is never 0");
        }
        buffer(file.asSlice(file.byteSize() - TAIL_BYTES, Long.BYTES)).putLong(0, contentsId);
        buffer(file.asSlice(file.byteSize() - TRAILER_BYTES))
                .putLong(0, MAGIC)
                .putLong(Long.BYTES, capacity)
                .putLong(2 * Long.BYTES, tableOffset(capacity))
                .putLong(3 * Long.BYTES, slotsLog2(capacity));
        return new VersionTable(file, tableOffset(capacity), slotsLog2(capacity));
    }

    /** The table of a mapped segment file holding {@code capacity} bytes, or null when the file has none. */
    public static VersionTable of(MemorySegment file, long capacity) {
        ByteBuffer trailer = trailer(file);
        long trailerAt = file.byteSize() - TRAILER_BYTES;
        if (trailer == null || trailerAt < capacity) {
            return null;
        }
        long offset = trailer.getLong(2 * Long.BYTES);
        long slotsLog2 = trailer.getLong(3 * Long.BYTES);
        if (offset < capacity
                || offset % Long.BYTES != 0
                || slotsLog2 < MIN_SLOTS_LOG2
                || slotsLog2 > MAX_SLOTS_LOG2
                || offset + ((long) Long.BYTES << slotsLog2) > trailerAt) {
            return null; // not a table this code wrote: no caching rather than words in the wrong place
        }
        return new VersionTable(file, offset, (int) slotsLog2);
    }

    /**
     * The contents id of a segment file this code formatted for {@code capacity} bytes; 0 when the file is not one
     * (no trailer, another capacity, too short, or an older layout without the id). The file may be longer than
     * {@link #fileBytes}: on hugetlbfs it is a whole number of huge pages.
     */
    public static long contentsId(MemorySegment file, long capacity) {
        ByteBuffer trailer = trailer(file);
        if (trailer == null || file.byteSize() < fileBytes(capacity) || trailer.getLong(Long.BYTES) != capacity) {
            return 0;
        }
        return buffer(file.asSlice(file.byteSize() - TAIL_BYTES, Long.BYTES)).getLong(0);
    }

    /**
     * How many bytes of a mapped segment file are the segment's own (what transfers may reach): the capacity its
     * trailer records, or the whole file when it has none.
     */
    public static long segmentBytes(MemorySegment file) {
        ByteBuffer trailer = trailer(file);
        if (trailer == null) {
            return file.byteSize();
        }
        long capacity = trailer.getLong(Long.BYTES);
        return capacity >= 0 && capacity <= file.byteSize() - TRAILER_BYTES ? capacity : 0;
    }

    /** Where in the file the word of the object at {@code objectOffset} lies. */
    public long slot(long objectOffset) {
        long hashed = (objectOffset >>> 6) * 0x9E3779B97F4A7C15L; // Fibonacci hashing of the 64-byte unit
        return offset + Long.BYTES * (hashed >>> (64 - slotsLog2));
    }

    /**
     * Makes {@code version} current at {@code slot}. Plain accesses with fences: the master changes a word only
     * inside the atomic section of the key whose object it describes, so a version is published once and withdrawn
     * after that, in order.
     */
    public void publish(long slot, long version) {
        VarHandle.releaseFence(); // the object's bytes and state before its version
        words.putLong(index(slot), version);
    }

    /**
     * Withdraws {@code version} from {@code slot}; a word another object's publication took meanwhile is left alone
     * (were it zeroed too, that object's readers would only ask the master again). A store-store fence is enough:
     * what must not come before the zero are the writes of whoever gets the memory next (this thread's own copies, or
     * another process's once a message, itself a store, tells it); readers write nothing the master then loads.
     */
    public void withdraw(long slot, long version) {
        int at = index(slot);
        if (words.getLong(at) == version) {
            words.putLong(at, 0L);
        }
        VarHandle.releaseFence();
    }

    /** Withdraws every version. */
    public void clear() {
        for (int at = 0; at < words.capacity(); at += Long.BYTES) {
            words.putLong(at, 0L);
        }
        VarHandle.fullFence();
    }

    /** The word at {@code slot} of a mapped segment file, as a reader keeps it to {@link #read}. */
    public static ByteBuffer word(MemorySegment file, long slot) {
        return buffer(file.asSlice(slot, Long.BYTES));
    }

    /** The version current in {@code word} (0: none); an acquiring read. */
    public static long read(ByteBuffer word) {
        long version = word.getLong(0);
        VarHandle.acquireFence(); // the reads that follow (the object's bytes) after the word
        return version;
    }

    private int index(long slot) {
        return Math.toIntExact(slot - offset);
    }

    private static ByteBuffer trailer(MemorySegment file) {
        if (file.byteSize() < TRAILER_BYTES) {
            return null;
        }
        ByteBuffer trailer = buffer(file.asSlice(file.byteSize() - TRAILER_BYTES));
        return trailer.getLong(0) == MAGIC ? trailer : null;
    }

    private static ByteBuffer buffer(MemorySegment memory) {
        return memory.asByteBuffer().order(ByteOrder.nativeOrder());
    }

    private static long tableOffset(long capacity) {
        return (capacity + Long.BYTES - 1) & -Long.BYTES;
    }

    private static int slotsLog2(long capacity) {
        long slots = Math.max(1L << MIN_SLOTS_LOG2, capacity >>> BYTES_PER_SLOT_LOG2);
        return Math.min(MAX_SLOTS_LOG2, 64 - Long.numberOfLeadingZeros(slots - 1)); // rounded up to a power of two
    }
}
