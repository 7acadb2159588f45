package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The last object events, in order, for watchers to read and to resume from. A fixed ring, not a queue per watcher:
 * each watcher holds only a cursor (the index of the next event it reads), so a slow watcher costs nothing but its
 * own loss once the ring has moved past it ({@link ErrorCode#EVENTS_LOST}, never a silent gap).
 *
 * <p>Events carry a sequence and the journal a stream name. A watcher resumes with both; the journal answers from
 * the event after that sequence, or EVENTS_LOST when it cannot say what came between. In a replicated cluster the
 * stream is the cluster's and every master numbers events alike (from op-log entries), so a watcher resumes on the
 * new leader where it stopped on the old one.
 *
 * <p>Appending takes no lock: a change is journaled inside its key's atomic section, on the put path, so writers
 * claim an index with one atomic increment, fill its slot and publish it (as in Aeron's and the Disruptor's
 * many-to-one rings). A reader takes an index only once it is published, and checks it was not overwritten while
 * it read. Readers waiting for more are woken by the next append, or look again every {@link #WAIT_SLICE_MILLIS}.
 */
public final class EventJournal {
    /** The longest a waiting reader sleeps before looking again (a wake-up it raced with is never lost longer). */
    static final long WAIT_SLICE_MILLIS = 20;

    /** A slot's mark while one writer fills it: no reader trusts it, and no other writer touches it. */
    private static final long WRITING = -2;
    /** How many single-segment lists {@link #kept} holds before it starts over (segments come and go). */
    private static final int KEPT_SEGMENT_LISTS = 1024;

    private final int capacity;
    // An event's fields in arrays, one slot per event, not an object per event: at tens of thousands of puts a
    // second the ring turns over in about a second, so nearly every event in it is young at a collection, and
    // events as objects were most of what each young collection had to copy (pauses of 10-14 ms, against 2-3 with
    // a ring of 1,024). The arrays are allocated once; what the slots point at (keys, segment lists) lives on anyway.
    private final long[] sequences;
    private final ObjectEvent.Kind[] kinds;
    private final String[] keys;
    private final long[] sizes;
    private final List<?>[] segments;
    /**
     * The index each slot holds, set after its fields: a reader trusts a slot only while this matches (and reads it
     * again after the fields, as a sequence lock). {@link #WRITING} while a writer fills it, -1 before any event.
     */
    private final AtomicLongArray published;
    /** One list per segment for events on a single segment, so a slot points at a list that outlives it. */
    private final ConcurrentHashMap<String, List<String>> singleSegments = new ConcurrentHashMap<>();
    /** The next index to claim. */
    private final AtomicLong claimed = new AtomicLong();
    /** Every event with a greater sequence is in the ring or still to come. */
    private final AtomicLong horizon = new AtomicLong(-1);
    /** The greatest sequence of a batch applied, events or not (replicated masters). */
    private volatile long batchPosition = -1;
    /** Indexes below this were dropped by a restart from a snapshot. */
    private volatile long first;
    /** A published prefix of the indexes, as last seen (a hint: {@link #publishedEnd} walks on from it). */
    private volatile long publishedHint;

    private volatile int waiting;
    private volatile String stream;

    public EventJournal(int capacity, String stream) {
        if (capacity < 1) {
            throw new IllegalArgumentException("an event journal needs room for at least one event");
        }
        this.capacity = capacity;
        this.sequences = new long[capacity];
        this.kinds = new ObjectEvent.Kind[capacity];
        this.keys = new String[capacity];
        this.sizes = new long[capacity];
        this.segments = new List<?>[capacity];
        this.published = new AtomicLongArray(capacity);
        for (int i = 0; i < capacity; i++) {
            published.set(i, -1);
        }
        this.stream = stream;
    }

    public String stream() {
        return stream;
    }

    /** Joins the stream a whole cluster shares (before any event is appended: a standby starting up). */
    public void joinStream(String shared) {
        this.stream = shared;
    }

    /** The sequence up to which this journal is current. */
    public long position() {
        long end = publishedEnd();
        long lastEvent = end == 0 ? -1 : eventAt(end - 1, -1);
        return Math.max(Math.max(lastEvent, batchPosition), horizon.get());
    }

    /** Appends the events of one batch (one op-log entry), numbered by it. One writer at a time. */
    public void appendBatch(long batch, List<ObjectEvent> events) {
        if (events.size() > capacity) {
            // Larger than the ring: it cannot be kept whole, so each event is published as the ring takes it.
            for (ObjectEvent event : events) {
                publish(
                        claimed.getAndIncrement(),
                        event.sequence(),
                        event.kind(),
                        event.key(),
                        event.size(),
                        event.segments());
            }
        } else {
            // Readers see a batch whole or not at all (a router gets one message per op-log entry, never half of
            // one and then the rest under the same number): a reader stops at the first index not marked, and the
            // batch's first index is marked last.
            long from = claimed.getAndAdd(events.size());
            for (int i = 0; i < events.size(); i++) {
                ObjectEvent event = events.get(i);
                store(from + i, event.sequence(), event.kind(), event.key(), event.size(), event.segments());
            }
            for (int i = events.size() - 1; i >= 0; i--) {
                published.set(slot(from + i), from + i);
            }
        }
        batchPosition = Math.max(batchPosition, ObjectEvent.lastOf(batch));
        wake();
    }

    /**
     * Appends one change of a master that keeps no op-log: a batch of its own, numbered by the index it claims (so
     * claims and sequences go in the same order). Called from any thread, inside the change's atomic section.
     */
    public void appendNext(ObjectEvent.Kind kind, String key, long size, List<String> segments) {
        long index = claimed.getAndIncrement();
        publish(index, ObjectEvent.sequence(index + 1, 0), kind, key, size, segments);
        wake();
    }

    /** Stores an event in {@code index}'s slot and marks it, unless a later lap's event is there already. */
    private void publish(long index, long sequence, ObjectEvent.Kind kind, String key, long size, List<String> on) {
        if (store(index, sequence, kind, key, size, on)) {
            published.set(slot(index), index);
        }
    }

    /**
     * Fills {@code index}'s slot and leaves it marked {@link #WRITING}: a reader a lap behind must not take it for
     * the event it replaces, and it is trusted once the caller marks it with {@code index}. Only one writer fills a
     * slot at a time (a writer a lap ahead waits for one a lap behind to finish; the ring laps within one write
     * only when it is smaller than the writers are many).
     *
     * @return false when the slot already holds a later lap's event: this one left the ring as it came
     */
    private boolean store(long index, long sequence, ObjectEvent.Kind kind, String key, long size, List<String> on) {
        int slot = slot(index);
        long held;
        while (true) {
            held = published.get(slot);
            if (held == WRITING) {
                Thread.onSpinWait();
            } else if (held > index) {
                horizon.accumulateAndGet(sequence, Math::max);
                return false;
            } else if (published.compareAndSet(slot, held, WRITING)) {
                break;
            }
        }
        if (held >= 0) {
            horizon.accumulateAndGet(sequences[slot], Math::max); // the oldest leaves the ring
        }
        sequences[slot] = sequence;
        kinds[slot] = kind;
        keys[slot] = key;
        sizes[slot] = size;
        segments[slot] = kept(on);
        return true;
    }

    /** {@code on} as a slot keeps it: a single segment's list is shared by all its events. */
    private List<String> kept(List<String> on) {
        if (on.size() != 1) {
            return List.copyOf(on);
        }
        String segment = on.getFirst();
        List<String> shared = singleSegments.get(segment);
        if (shared == null) {
            if (singleSegments.size() >= KEPT_SEGMENT_LISTS) {
                singleSegments.clear(); // segments of long gone workers
            }
            shared = singleSegments.computeIfAbsent(segment, List::of);
        }
        return shared;
    }

    private void wake() {
        if (waiting > 0) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /**
     * Forgets everything before {@code sequence} without events for it (a standby starting from a snapshot): a
     * watcher can resume only from there on. By the single writer of a replicated journal.
     */
    public void restartAfter(long sequence) {
        if (sequence > position()) {
            horizon.accumulateAndGet(sequence, Math::max);
            batchPosition = Math.max(batchPosition, sequence);
            first = claimed.get(); // every cursor into the old contents is now behind the ring
        }
    }

    private int slot(long index) {
        return (int) (index % capacity);
    }

    /** The end of the published prefix: every index below it is published (or already overwritten). */
    private long publishedEnd() {
        long end = Math.max(publishedHint, first);
        long claims = claimed.get();
        while (end < claims && published.get(slot(end)) >= end) {
            end++;
        }
        publishedHint = end;
        return end;
    }

    /** The sequence of the event at {@code index}, or {@code missing} when the slot no longer holds it. */
    private long eventAt(long index, long missing) {
        int slot = slot(index);
        if (published.get(slot) != index) {
            return missing;
        }
        long sequence = sequences[slot];
        return heldStill(slot, index) ? sequence : missing;
    }

    /** The event at a published {@code index}, or null when it was overwritten. */
    @SuppressWarnings("unchecked")
    private ObjectEvent read(long index) {
        int slot = slot(index);
        if (published.get(slot) != index) {
            return null;
        }
        long sequence = sequences[slot];
        ObjectEvent.Kind kind = kinds[slot];
        String key = keys[slot];
        long size = sizes[slot];
        List<String> on = (List<String>) segments[slot];
        return heldStill(slot, index) ? new ObjectEvent(sequence, kind, key, size, on) : null;
    }

    /** Whether {@code slot} still holds {@code index} after its fields were read: they are then that event's. */
    private boolean heldStill(int slot, long index) {
        VarHandle.acquireFence(); // the fields' reads above come before the mark's below (as StampedLock.validate)
        return published.get(slot) == index;
    }

    /** A cursor at the end: only events from now on. */
    public Cursor now() {
        long end = publishedEnd();
        return new Cursor(end, position());
    }

    /**
     * A cursor at the first event after {@code sequence} of {@code stream}.
     *
     * @throws StoreException EVENTS_LOST when the events after it are no longer kept, or the stream is another
     */
    public Cursor after(String from, long sequence) {
        if (!stream.equals(from)) {
            throw new StoreException(
                    ErrorCode.EVENTS_LOST,
                    "events of stream '" + from + "' are not kept here (this master's stream is '" + stream
                            + "'): start over");
        }
        long kept = horizon.get();
        long current = position();
        if (sequence < kept || sequence > current) {
            throw new StoreException(
                    ErrorCode.EVENTS_LOST,
                    "events after " + sequence + " are no longer kept (kept: after " + kept + " up to " + current
                            + "): start over");
        }
        return keptAfter(sequence);
    }

    /**
     * A cursor at the oldest kept event after {@code sequence}, whatever is no longer kept before it (a replay that
     * answers what it still has, as vLLM's publisher does).
     */
    public Cursor keptAfter(long sequence) {
        long high = publishedEnd();
        long low = Math.max(first, high - capacity);
        while (low < high) { // the first kept event with a greater sequence
            long mid = (low + high) >>> 1;
            if (eventAt(mid, Long.MIN_VALUE) <= sequence) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return new Cursor(low, sequence);
    }

    /**
     * Events from {@code cursor} on, at most {@code max} (more only to end with a whole batch), waiting up to
     * {@code waitMillis} for the first. The cursor moves past what is returned.
     *
     * @throws StoreException EVENTS_LOST when the ring has moved past the cursor
     */
    public List<ObjectEvent> read(Cursor cursor, int max, long waitMillis) throws InterruptedException {
        long end = publishedEnd();
        if (cursor.next == end && waitMillis > 0) {
            end = awaitPast(cursor.next, waitMillis);
        }
        List<ObjectEvent> events = new ArrayList<>();
        long index = cursor.next;
        while (index < end) {
            ObjectEvent event = index < first ? null : read(index);
            if (event == null) {
                throw new StoreException(
                        ErrorCode.EVENTS_LOST,
                        "the watcher fell behind: events after " + cursor.position + " are no longer kept; start over");
            }
            // A batch is read whole: one op-log entry, one message to a router.
            if (events.size() >= max && event.batch() != events.getLast().batch()) {
                break;
            }
            events.add(event);
            index++;
        }
        cursor.next = index;
        // At the end the watcher is current up to the last batch (which may have had no events for it).
        cursor.position = index == end
                ? Math.max(position(), cursor.position)
                : events.getLast().sequence();
        return events;
    }

    /** Waits until an event past {@code index} is published or the time is up; @return the published end */
    private long awaitPast(long index, long waitMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        long end;
        synchronized (this) {
            waiting++;
            try {
                while ((end = publishedEnd()) == index) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        break;
                    }
                    wait(Math.min(left, WAIT_SLICE_MILLIS));
                }
            } finally {
                waiting--;
            }
        }
        return end;
    }

    /** Where a watcher stands: the next event to read and the sequence it is current up to. */
    public static final class Cursor {
        private long next;
        private long position;

        private Cursor(long next, long position) {
            this.next = next;
            this.position = position;
        }

        /** The sequence this watcher has seen everything up to (what it resumes after). */
        public long position() {
            return position;
        }
    }
}
