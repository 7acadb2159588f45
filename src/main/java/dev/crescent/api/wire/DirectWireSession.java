package dev.crescent.api.wire;

import com.google.protobuf.MessageLite;
import com.google.protobuf.StringValue;
import com.google.protobuf.WireFormat;
import dev.crescent.api.Callers;
import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.SocketDeadlines;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.Caller;
import dev.crescent.protocol.ArrivingValue;
import dev.crescent.protocol.ArrivingValues;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.TrailingValue;
import org.jboss.logging.Logger;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * One connection of the {@link DirectWireListener}, served by a thread of its own: it blocks reading the caller's
 * next frame, runs the call on this thread to its end (a call that may block blocks only this connection), and writes
 * the answer itself. The kernel wakes this thread when a request arrives, where an event loop first wakes from its
 * selector and then reads; and no channel pipeline stands between the socket and the call. The frames and their
 * limits are the event loops' ({@link MasterWireSession}): a hello, then length-prefixed requests; a hello or frame
 * that does not arrive whole within the frame timeout closes the connection, and frames that must wait for their
 * bytes draw on the shared buffer budget. A caller that sends more than one call at a time is answered in order.
 */
final class DirectWireSession implements Runnable {
    private static final Logger LOG = Logger.getLogger(DirectWireSession.class);

    /** What one read takes at most: a 64 KiB value's put in one read, and many small requests if they queue. */
    private static final int READ_BYTES = 256 << 10;
    /** The largest frame and answer buffers a connection keeps for its next call (a larger one is dropped after). */
    private static final int KEPT_BYTES = 1 << 20;

    private final SocketChannel socket;
    private final SocketDeadlines.Watch deadline;
    private final MasterGrpcService service;
    private final MasterWireHandlers handlers;
    private final WireLimits limits;
    private final WireRings rings;

    /** Read and not yet taken, in read mode (its position is the next unread byte). */
    private final ByteBuffer in = ByteBuffer.allocateDirect(READ_BYTES).flip();
    /** The request being called: protobuf parses only heap bytes without copying them, and shares them. */
    private byte[] frame = new byte[64 << 10];
    /** The answer being written, made by whichever thread completes the call. */
    private ByteBuffer out = ByteBuffer.allocateDirect(64 << 10);
    /** Where the copies of small objects' bytes an answer carries are made, call after call. */
    private final ReusedRoom copies = new ReusedRoom();

    /** The thread serving this connection, once it started (the one a call's outcome wakes). */
    private volatile Thread thread;
    /** Set once the call's answer is in {@link #out}; read and cleared by this connection's thread. */
    private volatile boolean answered;

    private Caller caller;
    /** This connection's request ring, once its caller opened one. */
    private ServedRing ring;
    /** Whether the frame deadline is armed (a frame has begun and not yet arrived whole). */
    private boolean armed;
    /** Bytes of the frame being received, reserved in the shared budget (0: none). */
    private long reserved;

    /** Where a call's outcome goes: into {@link #out}, whichever thread it comes on, then to this thread. */
    private final WireCalls.Outcome outcome = new WireCalls.Outcome() {
        @Override
        public void answer(int callId, MessageLite answer, Lending lending) {
            try {
                int size = LentAnswer.size(answer, lending);
                LentAnswer.write(
                        room(LentAnswer.HEADER + size),
                        callId,
                        size,
                        0,
                        body -> LentAnswer.writeTo(answer, lending, body));
                out.limit(LentAnswer.HEADER + size);
            } catch (IOException | RuntimeException e) {
                fail(callId, WireCalls.storeError(e));
                return;
            }
            answered();
        }

        @Override
        public void fail(int callId, StoreException error) {
            ByteBuffer failure = WireCalls.failureFrame(callId, error);
            room(failure.remaining()).put(failure).flip();
            answered();
        }
    };

    DirectWireSession(
            SocketChannel socket,
            MasterGrpcService service,
            MasterWireHandlers handlers,
            WireLimits limits,
            WireRings rings) {
        this.socket = socket;
        this.deadline = SocketDeadlines.watch(socket.socket());
        this.service = service;
        this.handlers = handlers;
        this.limits = limits;
        this.rings = rings;
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        try {
            byte[] hello = new byte[nextLength(MasterWire.MAX_NODE_NAME_BYTES, 0)];
            take(hello, hello.length);
            caller = Callers.of(
                    new String(hello, StandardCharsets.UTF_8),
                    null,
                    ((InetSocketAddress) socket.getRemoteAddress()).getAddress());
            while (true) {
                int length = nextLength(MasterWire.MAX_FRAME, MasterWire.REQUEST_HEADER);
                if (!calledInPlace(length) && !calledArriving(length)) {
                    if (frame.length < length) {
                        frame = new byte[length];
                    }
                    take(frame, length);
                    call(length, null, null, null);
                }
                write();
                if (frame.length > KEPT_BYTES) {
                    frame = new byte[64 << 10];
                }
            }
        } catch (IOException e) {
            LOG.debugf("closing the direct master wire connection of %s: %s", caller, e.getMessage());
        } catch (RuntimeException e) { // a call answers its own failures: this is a fault of the session itself
            LOG.warnf(e, "closing the direct master wire connection of %s", caller);
        } finally {
            close();
        }
    }

    /** Closes the connection, which ends its thread's read or write, and gives back what it held. */
    void close() {
        deadline.close();
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        if (thread == Thread.currentThread()) {
            if (ring != null) {
                ring.close();
            }
            release();
        }
    }

    /**
     * The next frame's length, once its prefix arrived, within {@code [least, most]}; its bytes' reservation in the
     * budget is taken unless they are already here.
     */
    private int nextLength(int most, int least) throws IOException {
        fill(4, caller == null);
        int length = in.getInt();
        if (length < least || length > most) {
            throw new IOException("frame length " + length);
        }
        if (in.remaining() < length && caller != null) { // a hello is at most 255 bytes: only requests draw on it
            if (!limits.reserve(length)) {
                throw new IOException("unfinished frames over budget");
            }
            reserved = length;
        }
        return length;
    }

    /** Takes the frame's {@code length} bytes into {@code into}, reading what has not arrived yet. */
    private void take(byte[] into, int length) throws IOException {
        int taken = 0;
        while (taken < length) {
            fill(1, true);
            int now = Math.min(in.remaining(), length - taken);
            in.get(into, taken, now);
            taken += now;
        }
        arrived();
    }

    /**
     * Calls the request of {@code length} bytes, once they are all in the read buffer, with its value left there when
     * the value is its last field (a put's, as clients send it): only the rest is copied to be parsed, and the value
     * goes once, from where the socket put it into its segment (a 64 KiB put's value was copied onto the heap first:
     * a tenth of its connection thread's user time). False, nothing taken, when the request is larger than the read
     * buffer, of a method that carries no value, or laid out otherwise.
     */
    private boolean calledInPlace(int length) throws IOException {
        if (length > in.capacity()) {
            return false;
        }
        fill(length, true);
        int at = in.position();
        MasterWireHandlers.Handler<?, ?> handler = handlers.get(in.get(at) & 0xFF);
        TrailingValue value = handler == null || handler.valueField() == 0
                ? null
                : TrailingValue.find(in, at + MasterWire.REQUEST_HEADER, at + length, handler.valueField());
        if (value == null) {
            return false;
        }
        int head = takeHead(at, value);
        arrived();
        // The call is answered before this thread reads again: the value stays as it is until then.
        call(head, MemorySegment.ofBuffer(in.slice(value.valueAt(), value.valueBytes())), null, null);
        in.position(at + length);
        return true;
    }

    /**
     * Calls a request larger than the read buffer whose last field is its value (a large put's) with the value still
     * arriving: once the rest is here, it is called, and the value is read from the socket straight into the memory
     * placed for it ({@link ArrivingValue}); what the call did not read is then skipped, before the answer goes out.
     * Its bytes are not held in a buffer, so they draw nothing from the budget, but they too must arrive within the
     * frame timeout, counted from when the call starts reading them (not while the put waits to be durable). A batch
     * whose last fields are its values, one per key, as it says, is called so too, its values read in turn
     * ({@link ArrivingValues}). False, nothing taken, for a request of a method that carries no value, laid out
     * otherwise, or one whose fields before the value do not fit in the read buffer: it is then read whole and parsed.
     */
    private boolean calledArriving(int length) throws IOException {
        if (length <= in.capacity()) {
            return false;
        }
        fill(MasterWire.REQUEST_HEADER, true);
        MasterWireHandlers.Handler<?, ?> handler = handlers.get(in.get(in.position()) & 0xFF);
        if (handler == null || handler.arriving() == null && handler.arrivingValues() == null) {
            return false;
        }
        TrailingValue value;
        while ((value = trailing(handler, in.position(), length)) == null) {
            if (in.remaining() == in.capacity()) {
                return false;
            }
            fill(in.remaining() + 1, true); // the fields before the value have not all arrived yet
        }
        int head = takeHead(in.position(), value);
        in.position(value.valueAt());
        arrived(); // the rest is the values': their own deadline runs while they are read, not while the put waits
        if (handler.arriving() != null) {
            Arriving arriving = new Arriving(value.valueBytes());
            call(head, null, arriving, null);
            arriving.skipRest();
        } else {
            Entries entries = new Entries(handler.valuesField(), value.valueBytes());
            call(head, null, null, entries);
            entries.skipRest();
        }
        return true;
    }

    /** Where the value, or the values, of the request at {@code at} lie, once its fields before them are here. */
    private TrailingValue trailing(MasterWireHandlers.Handler<?, ?> handler, int at, int length) {
        int from = at + MasterWire.REQUEST_HEADER;
        return handler.arriving() != null
                ? TrailingValue.find(in, from, at + length, handler.valueField())
                : TrailingValue.firstOfLast(in, from, at + length, handler.valuesField(), handler.valuesLastField());
    }

    /**
     * Copies the request at {@code at} in the read buffer, up to its value, into {@link #frame} to be parsed.
     *
     * @return how many bytes that is: the header and the fields before the value
     */
    private int takeHead(int at, TrailingValue value) {
        int head = MasterWire.REQUEST_HEADER + value.headBytes();
        if (frame.length < head) {
            frame = new byte[head];
        }
        in.get(at, frame, 0, head);
        return head;
    }

    /** The frame being received is all here: its reservation in the budget, and its deadline, are over. */
    private void arrived() throws IOException {
        release();
        if (armed) {
            armed = false;
            if (!deadline.disarm()) {
                throw new IOException("frame not finished in time");
            }
        }
    }

    /**
     * Reads until at least {@code bytes} are here. The caller may take as long as it likes before a frame begins; once
     * one has ({@code begun}, or some of its bytes are here), its rest must come within the frame timeout, as must the
     * hello. Most frames arrive whole in one read, and pay no deadline at all.
     */
    private void fill(int bytes, boolean begun) throws IOException {
        while (in.remaining() < bytes) {
            if (begun || in.hasRemaining()) {
                arm();
            }
            in.compact();
            int read = socket.read(in);
            in.flip();
            if (read < 0) {
                throw new EOFException("the caller closed the connection");
            }
        }
    }

    /** Reads past the frame's next {@code bytes} (within its timeout), which the call did not take; the frame is then in. */
    private void skip(long bytes) throws IOException {
        while (bytes > 0) {
            fill(1, true);
            int now = (int) Math.min(in.remaining(), bytes);
            in.position(in.position() + now);
            bytes -= now;
        }
        arrived();
    }

    /** The frame being received has begun: the rest of it must come within the frame timeout. */
    private void arm() {
        if (!armed) {
            deadline.arm(limits.frameTimeoutMillis());
            armed = true;
        }
    }

    private void release() {
        if (reserved != 0) {
            limits.release(reserved);
            reserved = 0;
        }
    }

    /**
     * Runs the request in {@link #frame}, its value left out of it when {@code value} or {@code arriving} is not null,
     * or its values when {@code entries} is, and waits for its answer (a put's may come once the op-log confirmed it).
     */
    private void call(int length, MemorySegment value, Arriving arriving, Entries entries) {
        int method = frame[0] & 0xFF;
        int callId = ByteBuffer.wrap(frame, 1, 4).getInt();
        if (method == MasterWire.RING_OPEN) {
            openRing(callId, Arrays.copyOfRange(frame, MasterWire.REQUEST_HEADER, length));
        } else {
            MasterWireHandlers.Handler<?, ?> handler = handlers.get(method);
            if (handler == null) {
                outcome.fail(
                        callId, new StoreException(ErrorCode.INVALID_PARAMS, "unknown master wire method " + method));
            } else if (arriving != null || entries != null) {
                int body = length - MasterWire.REQUEST_HEADER;
                Supplier<? extends CompletionStage<?>> prepared = arriving != null
                        ? handler.prepareArriving(service, frame, MasterWire.REQUEST_HEADER, body, arriving)
                        : handler.prepareArriving(service, frame, MasterWire.REQUEST_HEADER, body, entries);
                WireCalls.callOf(caller, callId, prepared, new Lending(), outcome)
                        .run();
            } else {
                WireCalls.callOf(service, caller, handler, callId, frame, 0, length, value, copies.forCall(), outcome)
                        .run();
            }
        }
        while (!answered) {
            LockSupport.park(this);
        }
        answered = false;
    }

    private void openRing(int callId, byte[] message) {
        try {
            ring = rings.open(
                    ring,
                    message,
                    ((InetSocketAddress) socket.getRemoteAddress()).getAddress(),
                    caller,
                    service,
                    handlers);
        } catch (IOException | RuntimeException e) { // answered whatever went wrong: the caller waits for this answer
            outcome.fail(callId, WireCalls.storeError(e));
            return;
        }
        outcome.answer(callId, StringValue.of(ring.file().toString()), new Lending());
    }

    private void answered() {
        answered = true;
        if (Thread.currentThread() != thread) {
            LockSupport.unpark(thread);
        }
    }

    /** {@link #out}, cleared, with room for {@code bytes}. */
    private ByteBuffer room(int bytes) {
        if (out.capacity() < bytes) {
            out = ByteBuffer.allocateDirect(bytes);
        }
        return out.clear();
    }

    private void write() throws IOException {
        while (out.hasRemaining()) {
            socket.write(out);
        }
        if (out.capacity() > KEPT_BYTES) {
            out = ByteBuffer.allocateDirect(64 << 10);
        }
    }

    /**
     * The value of the request being called, still arriving: the bytes that came with the rest of the request are in
     * {@link #in}, and the others are read from the socket straight into where the call puts them.
     */
    private final class Arriving implements ArrivingValue {
        private final long size;
        /** How many of its bytes were read (into the call's memory, or skipped). */
        private long taken;
        /** A read into the call's memory failed part way: where the next frame starts is unknown. */
        private boolean broken;

        Arriving(long size) {
            this.size = size;
        }

        @Override
        public long byteSize() {
            return size;
        }

        @Override
        public void readInto(MemorySegment into) throws IOException {
            if (Thread.currentThread() != thread || taken != 0) {
                throw new IOException("a value still arriving is read once, by its connection's thread");
            }
            int here = (int) Math.min(in.remaining(), size);
            MemorySegment.copy(MemorySegment.ofBuffer(in), 0, into, 0, here);
            in.position(in.position() + here);
            taken = here;
            if (taken < size) {
                ByteBuffer rest = into.asSlice(taken, size - taken).asByteBuffer();
                arm();
                broken = true;
                while (rest.hasRemaining()) {
                    if (socket.read(rest) < 0) {
                        throw new EOFException("the caller closed the connection");
                    }
                }
                broken = false;
                taken = size;
                arrived();
            }
        }

        /** Skips what the call did not read, so the next frame is read from its start. */
        void skipRest() throws IOException {
            if (broken) {
                throw new IOException("a value did not arrive whole");
            }
            skip(size - taken);
            taken = size;
        }
    }

    /**
     * The values of the batch being called, one entry per key, still arriving: each entry's tag and length are read
     * when it is asked for, and its bytes as an {@link Arriving} value; entries before it that were not read are
     * skipped. An entry that is not one of the values (the request is not laid out as it said) fails it and every
     * later one; the rest of the frame is skipped all the same, so the connection reads on.
     */
    private final class Entries implements ArrivingValues {
        private final int tag;
        /** The frame's bytes after the current entry's: tags, lengths and entries not read yet. */
        private long left;
        /** Entries read so far (the index of the next one). */
        private int count;
        /** The entry read last, or null. */
        private Arriving current;
        /** Why no further entry can be had, once one could not. */
        private StoreException wrong;

        Entries(int field, long bytes) {
            this.tag = field << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED; // WireFormat.makeTag is not public
            this.left = bytes;
        }

        @Override
        public ArrivingValue of(int index) {
            if (Thread.currentThread() != thread || index < count) {
                throw new StoreException(
                        ErrorCode.INTERNAL_ERROR, "a batch's values are read in order, on their connection's thread");
            }
            if (wrong != null) {
                throw wrong;
            }
            try {
                Arriving entry;
                while ((entry = next()) != null) {
                    if (count++ == index) {
                        return entry.byteSize() == 0 ? null : entry;
                    }
                }
            } catch (IOException e) {
                wrong = new StoreException(
                        ErrorCode.TRANSFER_FAIL, "the batch's values did not arrive: " + e.getMessage());
            }
            throw wrong;
        }

        /** The next entry, its tag and length read: null, and {@link #wrong} set, when there is none where it should be. */
        private Arriving next() throws IOException {
            skipCurrent();
            if (left == 0) {
                wrong = new StoreException(ErrorCode.INVALID_PARAMS, "fewer values than keys: one entry per key");
                return null;
            }
            int read = varint();
            if (read != tag) {
                wrong = new StoreException(
                        ErrorCode.INVALID_PARAMS,
                        "field " + WireFormat.getTagFieldNumber(read) + " among the values: values_last promised"
                                + " only values after the rest");
                return null;
            }
            long bytes = varint();
            if (bytes < 0 || bytes > left) {
                wrong = new StoreException(ErrorCode.INVALID_PARAMS, "a value runs past its request");
                return null;
            }
            left -= bytes;
            arrived(); // its tag and length are here; its bytes have their own deadline while they are read
            current = new Arriving(bytes);
            return current;
        }

        private void skipCurrent() throws IOException {
            if (current != null) {
                current.skipRest();
                current = null;
            }
        }

        /** A varint of up to 32 bits, read as it arrives: -1 (never a tag or length) when it is longer. */
        private int varint() throws IOException {
            int value = 0;
            for (int shift = 0; shift < 35; shift += 7) {
                if (left == 0) {
                    return -1;
                }
                fill(1, true);
                byte b = in.get();
                left--;
                value |= (b & 0x7F) << shift;
                if (b >= 0) {
                    return value;
                }
            }
            return -1;
        }

        /** Skips what the call did not read, so the next frame is read from its start. */
        void skipRest() throws IOException {
            skipCurrent();
            skip(left);
            left = 0;
        }
    }
}
