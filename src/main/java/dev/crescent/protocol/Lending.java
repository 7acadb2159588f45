package dev.crescent.protocol;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What one master answer borrows until it is sent: small objects' bytes (by the answer's item: 0 for a single
 * location, the item's index in a batch), either as views of the segments themselves or as copies in memory the
 * answer's writer lends ({@link #room}), and what is to happen once the answer is out (hand back the read leases that
 * keep the segments' ranges from reuse, give the copies' memory back). The caller that writes the answer writes the
 * lent bytes into its frame, then {@link #end ends} the lending, whether the answer went out or failed; a writer that
 * sends them as they are {@link #keep keeps} them until they are sent. One call's, on one thread.
 */
public final class Lending {
    private static final MemorySegment[] NONE = {};

    /** Memory for copies an answer carries, held until the lending is over. */
    public interface Room {
        /** Copies on the heap, each in an array of its own (the garbage collector takes them back). */
        Room HEAP = bytes -> MemorySegment.ofArray(new byte[Math.toIntExact(bytes)]);

        /** {@code bytes} of memory for one copy. */
        MemorySegment take(long bytes);

        /** The copies are no longer read: their memory may be reused. */
        default void free() {}
    }

    private final Room room;
    private final List<Runnable> endings = new ArrayList<>(1);
    private MemorySegment[] lent = NONE;
    private boolean ended;
    /** The lent bytes are kept past {@link #end} until the runnable {@link #keep} returned runs. */
    private boolean kept;

    /** A lending whose copies are on the heap. */
    public Lending() {
        this(Room.HEAP);
    }

    /** A lending whose copies are made in {@code room}, freed once the lending is over. */
    public Lending(Room room) {
        this.room = room;
    }

    /** Memory for a copy of {@code bytes} bytes that the answer carries, held until the lending is over. */
    public MemorySegment room(long bytes) {
        return room.take(bytes);
    }

    /** Lends {@code bytes} to item {@code item} of the answer. */
    public void lend(int item, MemorySegment bytes) {
        if (item >= lent.length) {
            lent = Arrays.copyOf(lent, Math.max(item + 1, 2 * lent.length));
        }
        lent[item] = bytes;
    }

    /** The bytes lent to item {@code item}, or null. */
    public MemorySegment lent(int item) {
        return item < lent.length ? lent[item] : null;
    }

    /** Runs {@code ending} once the answer is out (at once, when the lending has already ended). */
    public void until(Runnable ending) {
        if (ended) {
            ending.run();
        } else {
            endings.add(ending);
        }
    }

    /** The answer is out (or failed): the lent bytes may be reused. Runs each ending once; later calls do nothing. */
    public void end() {
        if (ended) {
            return;
        }
        ended = true;
        lent = NONE;
        if (!kept) {
            runEndings();
        }
    }

    /**
     * The answer's writer keeps the lent bytes past {@link #end} (they are still being sent): the endings run only once
     * the returned runnable runs.
     */
    public Runnable keep() {
        kept = true;
        return this::runEndings;
    }

    private void runEndings() {
        for (Runnable ending : endings) {
            ending.run();
        }
        endings.clear();
        room.free();
    }
}
