package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.ArrayList;
import java.util.List;

/**
 * The last object events, in order, for watchers to read and to resume from. A fixed ring, not a queue per watcher:
 * each watcher holds only a cursor (how many events came before the next it reads), so a slow watcher costs nothing
 * but its own loss once the ring has moved past it ({@link ErrorCode#EVENTS_LOST}, never a silent gap).
 *
 * <p>Events carry a sequence and the journal a stream name. A watcher resumes with both; the journal answers from
 * the event after that sequence, or EVENTS_LOST when it cannot say what came between. In a replicated cluster the
 * stream is the cluster's and every master numbers events alike (from op-log entries), so a watcher resumes on the
 * new leader where it stopped on the old one.
 */
public final class EventJournal {
    private final ObjectEvent[] ring;
    private String stream;
    /** Events ever appended: the cursor at the end. */
    private long appended;
    /** The cursor of the oldest event kept. */
    private long first;
    /** Every event with a greater sequence is in the ring or still to come. */
    private long horizon = -1;
    /** The greatest sequence appended or known (the next local batch follows it). */
    private long last = -1;

    public EventJournal(int capacity, String stream) {
        if (capacity < 1) {
            throw new IllegalArgumentException("an event journal needs room for at least one event");
        }
        this.ring = new ObjectEvent[capacity];
        this.stream = stream;
    }

    public synchronized String stream() {
        return stream;
    }

    /** Joins the stream a whole cluster shares (before any event is appended: a standby starting up). */
    public synchronized void joinStream(String shared) {
        this.stream = shared;
    }

    /** The sequence up to which this journal is current. */
    public synchronized long position() {
        return last;
    }

    /** Appends the events of one batch (one op-log entry), numbered by it. */
    public synchronized void appendBatch(long batch, List<ObjectEvent> events) {
        for (ObjectEvent event : events) {
            put(event);
        }
        last = Math.max(last, ObjectEvent.lastOf(batch));
        notifyAll();
    }

    /** Appends one change of a master that keeps no op-log: a batch of its own, after the last. */
    public synchronized void appendNext(ObjectEvent.Kind kind, String key, long size, List<String> segments) {
        long batch = last < 0 ? 1 : (last >>> 24) + 1;
        put(new ObjectEvent(ObjectEvent.sequence(batch, 0), kind, key, size, segments));
        last = ObjectEvent.lastOf(batch);
        notifyAll();
    }

    /**
     * Forgets everything before {@code sequence} without events for it (a standby starting from a snapshot): a
     * watcher can resume only from there on.
     */
    public synchronized void restartAfter(long sequence) {
        if (sequence > last) {
            horizon = sequence;
            last = sequence;
            first = appended; // every cursor into the old contents is now behind the ring
        }
    }

    private void put(ObjectEvent event) {
        if (appended - first == ring.length) {
            horizon = ring[slot(first)].sequence(); // the oldest leaves the ring
            first++;
        }
        ring[slot(appended)] = event;
        appended++;
    }

    private boolean sameBatch(long one, long other) {
        return ring[slot(one)].batch() == ring[slot(other)].batch();
    }

    private int slot(long cursor) {
        return (int) (cursor % ring.length);
    }

    /** A cursor at the end: only events from now on. */
    public synchronized Cursor now() {
        return new Cursor(appended, last);
    }

    /**
     * A cursor at the first event after {@code sequence} of {@code stream}.
     *
     * @throws StoreException EVENTS_LOST when the events after it are no longer kept, or the stream is another
     */
    public synchronized Cursor after(String from, long sequence) {
        if (!stream.equals(from)) {
            throw new StoreException(
                    ErrorCode.EVENTS_LOST,
                    "events of stream '" + from + "' are not kept here (this master's stream is '" + stream
                            + "'): start over");
        }
        if (sequence < horizon || sequence > last) {
            throw new StoreException(
                    ErrorCode.EVENTS_LOST,
                    "events after " + sequence + " are no longer kept (kept: after " + horizon + " up to " + last
                            + "): start over");
        }
        return new Cursor(firstAfter(sequence), sequence);
    }

    /**
     * A cursor at the oldest kept event after {@code sequence}, whatever is no longer kept before it (a replay that
     * answers what it still has, as vLLM's publisher does).
     */
    public synchronized Cursor keptAfter(long sequence) {
        return new Cursor(firstAfter(sequence), sequence);
    }

    private long firstAfter(long sequence) {
        long low = first;
        long high = appended;
        while (low < high) {
            long mid = (low + high) >>> 1;
            if (ring[slot(mid)].sequence() <= sequence) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }

    /**
     * Events from {@code cursor} on, at most {@code max} (more only to end with a whole batch), waiting up to
     * {@code waitMillis} for the first. The cursor moves past what is returned.
     *
     * @throws StoreException EVENTS_LOST when the ring has moved past the cursor
     */
    public synchronized List<ObjectEvent> read(Cursor cursor, int max, long waitMillis) throws InterruptedException {
        if (cursor.next == appended && waitMillis > 0) {
            wait(waitMillis);
        }
        if (cursor.next < first) {
            throw new StoreException(
                    ErrorCode.EVENTS_LOST,
                    "the watcher fell behind: events after " + cursor.position + " are no longer kept; start over");
        }
        int count = (int) Math.min(max, appended - cursor.next);
        while (count > 0 && cursor.next + count < appended && sameBatch(cursor.next + count - 1, cursor.next + count)) {
            count++; // a batch is read whole: one op-log entry, one message to a router
        }
        List<ObjectEvent> events = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            events.add(ring[slot(cursor.next + i)]);
        }
        cursor.next += count;
        // At the end the watcher is current up to the last batch (which may have had no events for it).
        cursor.position = cursor.next == appended ? last : events.getLast().sequence();
        return events;
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
