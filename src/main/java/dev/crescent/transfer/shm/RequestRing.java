package dev.crescent.transfer.shm;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Requests and answers in a file both sides map, so a call from a process to another on the same host costs no
 * socket round trip: the caller writes its request into a slot and rings a doorbell, the server takes it, answers
 * into the same slot and wakes the caller. Both sleep on a {@link Futex} while there is nothing for them, and both
 * yield their core for a little while first ({@link CoreYield}): the next request, or the answer, usually comes
 * within that, and a waiter found awake need not be woken. Spinning instead held cores that the other waiters needed
 * (callers outnumber the cores under load).
 *
 * <p>Layout (native byte order, ints):
 * <pre>
 *   header (64 bytes): magic | slot count | slot payload bytes | doorbell | server sleeping
 *   slot i (64 + payload bytes, from 64 + i * stride): state | length | caller sleeping | ... | payload
 * </pre>
 * A slot's state goes FREE to POSTED (caller: the payload holds a request of {@code length} bytes), to ANSWERED
 * (server: the payload now holds the answer), to FREE (caller, once it read the answer). The server never trusts what
 * the file holds: it keeps its own record of which slots it is answering, reads each request's length once and
 * bounds it, and copies a request out of its slot before reading it, so a caller that writes into its ring at any
 * time harms only its own calls.
 */
public final class RequestRing {
    public static final int FREE = 0;
    public static final int POSTED = 1;
    public static final int ANSWERED = 2;

    private static final int MAGIC = 0x43524E47; // "CRNG"
    private static final int HEADER = 64;
    private static final int SLOT_HEADER = 64;
    private static final long MAGIC_AT = 0;
    private static final long SLOTS_AT = 4;
    private static final long PAYLOAD_AT = 8;
    private static final long DOORBELL_AT = 12;
    private static final long SERVER_SLEEPING_AT = 16;
    private static final long STATE_AT = 0;
    private static final long LENGTH_AT = 4;
    private static final long CALLER_SLEEPING_AT = 8;

    private static final VarHandle INT = JAVA_INT.varHandle();
    /**
     * How long a caller yields its core before it sleeps on its answer. The ring's server answers a put in a few
     * microseconds. A caller that slept at once cost the server a futex wake per answer (36 % of the ring thread's
     * samples) and itself a switch back (40 % of its own); one that yields lets the other callers on its core run
     * and finds its answer in memory, with no system call on either side. Spinning without yielding held the core
     * the other callers needed, and was slower than sleeping (DESIGN.md section 9, twenty-fourth round).
     */
    static final long YIELD_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

    private final MemorySegment file;
    /** The caller's side's yielding before it sleeps on an answer, shared by the threads that call through it. */
    private final CoreYield callerYield = new CoreYield();

    private final int slots;
    private final int payloadBytes;

    private RequestRing(MemorySegment file, int slots, int payloadBytes) {
        this.file = file;
        this.slots = slots;
        this.payloadBytes = payloadBytes;
    }

    /** The bytes a ring of {@code slots} slots of {@code payloadBytes} each takes. */
    public static long fileBytes(int slots, int payloadBytes) {
        return HEADER + (long) slots * stride(payloadBytes);
    }

    private static long stride(int payloadBytes) {
        return SLOT_HEADER + ((payloadBytes + 63L) & ~63L);
    }

    /** Lays out a new ring in {@code file} (zeroed, {@link #fileBytes} long): every slot free. */
    public static RequestRing format(MemorySegment file, int slots, int payloadBytes) {
        if (slots <= 0 || payloadBytes <= 0 || file.byteSize() < fileBytes(slots, payloadBytes)) {
            throw new IllegalArgumentException("a ring of " + slots + " slots of " + payloadBytes
                    + " bytes does not fit " + file.byteSize() + " bytes");
        }
        file.set(JAVA_INT, SLOTS_AT, slots);
        file.set(JAVA_INT, PAYLOAD_AT, payloadBytes);
        INT.setVolatile(file, MAGIC_AT, MAGIC);
        return new RequestRing(file, slots, payloadBytes);
    }

    /**
     * The ring another process laid out in {@code file}, or null when the file does not hold one that fits it (the
     * caller then calls over its socket).
     */
    public static RequestRing open(MemorySegment file) {
        if (file.byteSize() < HEADER || (int) INT.getVolatile(file, MAGIC_AT) != MAGIC) {
            return null;
        }
        int slots = file.get(JAVA_INT, SLOTS_AT);
        int payloadBytes = file.get(JAVA_INT, PAYLOAD_AT);
        if (slots <= 0 || payloadBytes <= 0 || file.byteSize() < fileBytes(slots, payloadBytes)) {
            return null;
        }
        return new RequestRing(file, slots, payloadBytes);
    }

    public int slots() {
        return slots;
    }

    /** The most bytes a request or an answer may take in a slot. */
    public int payloadBytes() {
        return payloadBytes;
    }

    /** Where slot {@code slot}'s request or answer goes: {@link #payloadBytes} bytes. */
    public ByteBuffer payload(int slot) {
        return file.asSlice(at(slot) + SLOT_HEADER, payloadBytes).asByteBuffer().order(ByteOrder.BIG_ENDIAN);
    }

    public int state(int slot) {
        return (int) INT.getVolatile(file, at(slot) + STATE_AT);
    }

    /** The request or answer length the slot states: untrusted on the server, bounded by whoever reads it. */
    public int length(int slot) {
        return (int) INT.getVolatile(file, at(slot) + LENGTH_AT);
    }

    // ---- the caller's side ----

    /**
     * Posts the {@code length} bytes the caller wrote into {@link #payload}({@code slot}) and wakes the server if it
     * sleeps. The slot must be the caller's (FREE, or ANSWERED and read).
     */
    public void post(int slot, int length) {
        long at = at(slot);
        INT.setVolatile(file, at + LENGTH_AT, length);
        INT.setVolatile(file, at + STATE_AT, POSTED);
        ring(); // after the post: a server about to sleep sees the bell has moved
    }

    /** Rings the doorbell: a server that looks for requests after this (or sleeps) finds what was posted before. */
    public void ring() {
        INT.getAndAdd(file, DOORBELL_AT, 1);
        if ((int) INT.getVolatile(file, SERVER_SLEEPING_AT) != 0) {
            Futex.wakeAll(file.asSlice(DOORBELL_AT, 4));
        }
    }

    /**
     * Waits up to {@code waitNanos} for the answer to the request in {@code slot}: yielding its core for up to
     * {@link #YIELD_NANOS} (unless {@link CoreYield} says not to), then sleeping until the server wakes it.
     * @return whether it is answered
     */
    public boolean awaitAnswer(int slot, long waitNanos) {
        long at = at(slot);
        long start = System.nanoTime();
        long yielding = Math.min(YIELD_NANOS, waitNanos);
        while ((int) INT.getVolatile(file, at + STATE_AT) != ANSWERED
                && System.nanoTime() - start < yielding
                && callerYield.yieldOnce()) {
            // the answer usually comes within the yielding
        }
        while ((int) INT.getVolatile(file, at + STATE_AT) != ANSWERED) {
            long waited = System.nanoTime() - start;
            if (waited >= waitNanos) {
                return false;
            }
            INT.setVolatile(file, at + CALLER_SLEEPING_AT, 1);
            int state = (int) INT.getVolatile(file, at + STATE_AT);
            if (state != ANSWERED) {
                Futex.await(file.asSlice(at + STATE_AT, 4), state, waitNanos - waited);
            }
            INT.setVolatile(file, at + CALLER_SLEEPING_AT, 0);
        }
        return true;
    }

    /** Gives a slot whose answer the caller read back to the caller's side. */
    public void free(int slot) {
        INT.setVolatile(file, at(slot) + STATE_AT, FREE);
    }

    // ---- the server's side ----

    /** The doorbell's count now: read it before looking for requests, then {@link #sleep} on it. */
    public int doorbell() {
        return (int) INT.getVolatile(file, DOORBELL_AT);
    }

    /**
     * Sleeps until a caller rings after {@code seen} was read (at once if one already did) or {@code timeoutNanos}
     * passed. Callers wake the server only while it says it sleeps.
     */
    public void sleep(int seen, long timeoutNanos) {
        INT.setVolatile(file, SERVER_SLEEPING_AT, 1);
        if ((int) INT.getVolatile(file, DOORBELL_AT) == seen) {
            Futex.await(file.asSlice(DOORBELL_AT, 4), seen, timeoutNanos);
        }
        INT.setVolatile(file, SERVER_SLEEPING_AT, 0);
    }

    /**
     * Copies the request posted in {@code slot} into {@code into} (from its start). @return its length, or -1 when
     * the length the slot states is out of bounds (nothing copied)
     */
    public int take(int slot, byte[] into) {
        int length = length(slot); // read once: the caller may change it at any time
        if (length < 0 || length > payloadBytes || length > into.length) {
            return -1;
        }
        MemorySegment.copy(file, JAVA_BYTE, at(slot) + SLOT_HEADER, into, 0, length);
        return length;
    }

    /**
     * Marks the answer the server wrote into {@link #payload}({@code slot}), {@code length} bytes, as there, and
     * wakes the caller if it sleeps.
     */
    public void answered(int slot, int length) {
        long at = at(slot);
        INT.setVolatile(file, at + LENGTH_AT, length);
        INT.setVolatile(file, at + STATE_AT, ANSWERED);
        if ((int) INT.getVolatile(file, at + CALLER_SLEEPING_AT) != 0) {
            Futex.wakeAll(file.asSlice(at + STATE_AT, 4));
        }
    }

    /** Where slot {@code slot} starts in the file. */
    private long at(int slot) {
        if (slot < 0 || slot >= slots) {
            throw new IndexOutOfBoundsException("slot " + slot + " of " + slots);
        }
        return HEADER + slot * stride(payloadBytes);
    }
}
