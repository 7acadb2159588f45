package dev.crescent.api.wire;

import com.google.protobuf.MessageLite;
import com.google.protobuf.StringValue;
import dev.crescent.api.Callers;
import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.Caller;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.impl.NetSocketInternal;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One wire connection: reads the hello (who calls), then request frames on the event loop, runs each through the
 * master's adapter (inline when it cannot block, on a worker thread otherwise) as that caller, and writes each
 * answer when it is ready. A frame that cannot be read closes the connection.
 */
final class MasterWireSession {
    private static final Logger LOG = Logger.getLogger(MasterWireSession.class);

    /**
     * How much each read takes: Netty's guess adapts to what the reads fill, as by default, but up to 256 KiB instead of
     * 64 KiB. A put of a 64 KiB value is a frame a little larger than that, which took two reads, each a system call;
     * now one read takes it whole.
     */
    private static final RecvByteBufAllocator READS = new AdaptiveRecvByteBufAllocator(64, 2048, 256 << 10);
    /**
     * How many bytes a queued answer holds back, for the channel's writability (which stops reading a caller that does
     * not read its answers): Netty counts a file region as nothing, and an answer sent from its segment is one.
     */
    private static final MessageSizeEstimator ANSWER_SIZES = new MessageSizeEstimator() {
        private final Handle others = DefaultMessageSizeEstimator.DEFAULT.newHandle();
        private final Handle handle =
                message -> message instanceof LeasedRegion region ? (int) region.count() : others.size(message);

        @Override
        public Handle newHandle() {
            return handle;
        }
    };

    private final NetSocket socket;
    /** The same socket, to hand the channel buffers it releases itself. */
    private final NetSocketInternal channel;
    /** Known once the hello arrived. */
    private Caller caller;

    private final MasterGrpcService service;
    private final MasterWireHandlers handlers;
    private final Vertx vertx;
    private final WireLimits limits;
    private final WireRings rings;
    /** Where request frames come from: a pool only they use ({@link MasterWireRoute#framePool}). */
    private final ByteBufAllocator frames;
    /** This connection's request ring, once its caller opened one (event loop only). */
    private ServedRing ring;

    private boolean closed;
    /** The length prefix being received (4 bytes) and how much of it has arrived. */
    private final byte[] lengthPrefix = new byte[4];

    private int prefixBytes;
    /**
     * The hello or frame being received, once its length is known (null: a length prefix is due): a pooled heap
     * buffer, so a 64 KiB value or a batch of 128 4 KiB values costs neither a zeroed array nor garbage per call.
     */
    private ByteBuf frame;

    /** Bytes read and not yet framed: kept while the caller's answers wait to drain (null: none). */
    private ByteBuf held;
    /**
     * The caller's answers fill the write queue: no frame is taken, and nothing read, until they drain. Event loop
     * only, as {@link #held} is.
     */
    private boolean answersWaiting;
    /** Bytes of the frame being received, reserved in the shared budget (0: none). */
    private long reservedBytes;
    /** A flush of answers written off the event loop is scheduled and has not started. */
    private final AtomicBoolean flushScheduled = new AtomicBoolean();

    private final Runnable flushAnswers = this::flushAnswers;
    /** Where this connection's calls answer: back on it. */
    private final WireCalls.Outcome outcome = new WireCalls.Outcome() {
        @Override
        public void answer(int callId, MessageLite answer, Lending lending) {
            MasterWireSession.this.answer(callId, answer, lending);
        }

        @Override
        public void fail(int callId, StoreException error) {
            MasterWireSession.this.fail(callId, error);
        }
    };
    /** Closes the connection unless the hello or frame being received completes in time (-1: none set). */
    private long deadlineTimer = -1;

    MasterWireSession(
            NetSocket socket,
            MasterGrpcService service,
            MasterWireHandlers handlers,
            Vertx vertx,
            WireLimits limits,
            WireRings rings,
            ByteBufAllocator frames) {
        this.socket = socket;
        this.channel = (NetSocketInternal) socket;
        this.service = service;
        this.handlers = handlers;
        this.vertx = vertx;
        this.limits = limits;
        this.rings = rings;
        this.frames = frames;
    }

    void start() {
        channel.channelHandlerContext()
                .channel()
                .config()
                .setRecvByteBufAllocator(READS)
                .setMessageSizeEstimator(ANSWER_SIZES); // before the first write, which fixes the channel's estimator
        socket.exceptionHandler(e -> close(e.toString()));
        channel.messageHandler(this::onMessage);
        socket.closeHandler(closed -> {
            cancelDeadline();
            if (ring != null) {
                ring.close();
            }
            releaseReservation();
            if (frame != null) {
                frame.release();
                frame = null;
            }
            if (held != null) {
                held.release();
                held = null;
            }
        });
        armDeadline("no hello"); // the hello's length and bytes must arrive in time too
    }

    /**
     * Takes what the channel read as it is: Vert.x's own handler would copy each read into a fresh heap buffer
     * first (zeroed, then filled, then garbage), which with 64 KiB values was a tenth of the master's CPU.
     */
    private void onMessage(Object message) {
        if (!(message instanceof ByteBuf bytes) || closed) {
            ReferenceCountUtil.release(message);
            return;
        }
        // A read that came before a pause took effect goes behind what is already held.
        held = held == null
                ? bytes
                : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(
                        channel.channelHandlerContext().alloc(), held, bytes);
        takeFrames();
    }

    /**
     * Frames the bytes held as they arrive: each frame is copied once, from the channel's buffer into a pooled buffer
     * of its own, which its request then shares (a small object's value is not copied again before it reaches a
     * segment).
     * Between frames it stops while the caller's answers wait to drain, and keeps the rest for then: one read can
     * hold thousands of small requests, each of whose answers may be 64 KiB.
     */
    private void takeFrames() {
        ByteBuf in = held;
        while (in.isReadable() && !closed && !(answersWaiting && frame == null && prefixBytes == 0)) {
            if (frame == null) {
                int take = Math.min(4 - prefixBytes, in.readableBytes());
                in.readBytes(lengthPrefix, prefixBytes, take);
                prefixBytes += take;
                if (prefixBytes == 4) {
                    prefixBytes = 0;
                    onLength(((lengthPrefix[0] & 0xFF) << 24)
                            | ((lengthPrefix[1] & 0xFF) << 16)
                            | ((lengthPrefix[2] & 0xFF) << 8)
                            | (lengthPrefix[3] & 0xFF));
                }
            } else {
                int take = Math.min(frame.writableBytes(), in.readableBytes());
                frame.writeBytes(in, take);
                if (!frame.isWritable()) {
                    onFrame();
                }
            }
        }
        if (!in.isReadable() || closed) {
            in.release();
            held = null;
        }
        if (frame != null && deadlineTimer == -1 && !closed) {
            // Armed once per frame, and only for one a read leaves unfinished: most frames arrive whole, and a timer
            // set and cancelled per frame was a cost of every call.
            armDeadline("frame not finished");
        }
    }

    private void onLength(int length) {
        int least = caller == null ? 0 : MasterWire.REQUEST_HEADER;
        int most = caller == null ? MasterWire.MAX_NODE_NAME_BYTES : MasterWire.MAX_FRAME;
        if (length < least || length > most) {
            close("frame length " + length);
            return;
        }
        if (length == 0) {
            onHello(new byte[0]); // an empty hello: no bytes follow
            cancelDeadline();
            return;
        }
        if (caller != null) { // a hello is at most 255 bytes: only request frames draw on the budget
            if (!limits.reserve(length)) {
                close("unfinished frames over budget");
                return;
            }
            reservedBytes = length;
        }
        frame = frames.heapBuffer(length, length);
    }

    private void onFrame() {
        ByteBuf complete = frame;
        frame = null;
        cancelDeadline();
        releaseReservation();
        if (caller == null) {
            byte[] nodeName = ByteBufUtil.getBytes(complete);
            complete.release();
            onHello(nodeName);
        } else {
            onRequest(complete);
        }
    }

    private void armDeadline(String why) {
        cancelDeadline();
        deadlineTimer = vertx.setTimer(limits.frameTimeoutMillis(), id -> close(why + " in time"));
    }

    /** Closes the connection; nothing it sent after this is read. */
    private void close(String why) {
        LOG.debugf("closing the master wire connection of %s: %s", caller, why);
        closed = true;
        reading(false);
        socket.close();
    }

    private void cancelDeadline() {
        if (deadlineTimer != -1) {
            vertx.cancelTimer(deadlineTimer);
            deadlineTimer = -1;
        }
    }

    private void releaseReservation() {
        if (reservedBytes != 0) {
            limits.release(reservedBytes);
            reservedBytes = 0;
        }
    }

    private void onHello(byte[] nodeName) {
        caller = Callers.of(
                new String(nodeName, StandardCharsets.UTF_8),
                socket.isSsl() ? socket.sslSession() : null,
                socket.remoteAddress());
    }

    /**
     * Runs one request. Its message is parsed with aliasing, so its bytes fields (a small object's value) share the
     * frame's memory, which goes back to the pool when this returns: a call that cannot block runs here, to its end,
     * and the master copies such values into their segments on this thread (an {@code InlineValues} copier writes
     * only while its call is on; a put placed later is left to its writer); a call that may block runs on a worker
     * thread later, so its request is parsed from a copy of its own.
     */
    private void onRequest(ByteBuf request) {
        int method = request.getUnsignedByte(request.readerIndex()); // a request frame holds at least its header
        int callId = request.getInt(request.readerIndex() + 1);
        if (method == MasterWire.RING_OPEN) {
            byte[] message = ByteBufUtil.getBytes(
                    request,
                    request.readerIndex() + MasterWire.REQUEST_HEADER,
                    request.readableBytes() - MasterWire.REQUEST_HEADER);
            request.release();
            openRing(callId, message);
            return;
        }
        MasterWireHandlers.Handler<?, ?> handler = handlers.get(method);
        if (handler == null) {
            request.release();
            fail(callId, new StoreException(ErrorCode.INVALID_PARAMS, "unknown master wire method " + method));
            return;
        }
        if (handler.blocking()) {
            byte[] own = ByteBufUtil.getBytes(request);
            request.release();
            Runnable call =
                    WireCalls.callOf(service, caller, handler, callId, own, 0, own.length, null, room(), outcome);
            vertx.executeBlocking(
                    () -> {
                        call.run();
                        return null;
                    },
                    false);
            return;
        }
        try {
            int offset = request.arrayOffset() + request.readerIndex();
            WireCalls.callOf(
                            service,
                            caller,
                            handler,
                            callId,
                            request.array(),
                            offset,
                            request.readableBytes(),
                            null,
                            room(),
                            outcome)
                    .run();
        } finally {
            assert poisoned(request); // with assertions on (tests), a late reader of the frame reads junk
            request.release();
        }
    }

    /**
     * A call's room for the copies its answer carries: pooled direct memory, which the answer can be sent from as it
     * is (a heap buffer would be copied into a direct one on its way to the socket).
     */
    private Lending.Room room() {
        return new PooledRoom(channel.channelHandlerContext().alloc());
    }

    /**
     * Opens a request ring for this connection's caller, which then calls through it as well as here; answers the
     * ring file's path, or why it gets none.
     */
    private void openRing(int callId, byte[] message) {
        try {
            ring = rings.open(ring, message, remoteAddress(), caller, service, handlers);
        } catch (RuntimeException e) { // answered whatever went wrong: the caller waits for this answer
            fail(callId, e);
            return;
        }
        answer(callId, StringValue.of(ring.file().toString()), new Lending());
    }

    /** The address this connection comes from, as the channel knows it (no name lookup). */
    private InetAddress remoteAddress() {
        return ((InetSocketAddress) channel.channelHandlerContext().channel().remoteAddress()).getAddress();
    }

    /** Overwrites a frame about to go back to the pool, as the pool's next user would; true. */
    private static boolean poisoned(ByteBuf request) {
        byte[] junk = new byte[request.readableBytes()];
        Arrays.fill(junk, (byte) 0xDB);
        request.setBytes(request.readerIndex(), junk);
        return true;
    }

    /**
     * Serialises the answer straight into a pooled direct buffer, which the channel sends as it is and gives back
     * to the pool: a heap frame would be copied into a fresh direct buffer on every write (a small object's bytes
     * travel in answers: with 64 KiB values that copy and its zeroing were the master's largest cost). Bytes lent
     * to the answer are copied into it ({@link LentAnswer}), or, when they average 16 KiB or more or add up to
     * 64 KiB or more, sent from where they lie as they are ({@link InPlaceAnswer}).
     */
    private void answer(int callId, MessageLite answer, Lending lending) {
        ChannelHandlerContext context = channel.channelHandlerContext();
        Object message;
        try {
            LeasedRegion inPlace = socket.isSsl() || !context.executor().inEventLoop()
                    ? null // TLS encrypts from buffers only; answers made off the loop keep the copy
                    : InPlaceAnswer.regionOf(context.alloc(), callId, answer, lending);
            message = inPlace != null
                    ? inPlace
                    : LentAnswer.frame(
                            context.alloc(),
                            callId,
                            LentAnswer.size(answer, lending),
                            0,
                            out -> LentAnswer.writeTo(answer, lending, out));
        } catch (IOException | RuntimeException e) {
            fail(callId, e);
            return;
        }
        if (context.executor().inEventLoop()) {
            channel.writeMessage(message); // the channel releases it once written; flushed after the read burst
            pauseWhileQueueFull();
            return;
        }
        // Answered off the loop, once the op-log confirmed: the op-log confirms a batch of PutEnds at once, and
        // flushing each answer on its own would be a send, and a wake-up of the client, per answer.
        context.write(message, context.voidPromise());
        if (flushScheduled.compareAndSet(false, true)) {
            context.executor().execute(flushAnswers);
        }
    }

    /** Runs on the event loop after the answers written before it was scheduled (its tasks run in order). */
    private void flushAnswers() {
        flushScheduled.set(false); // an answer written from now on schedules a flush of its own
        channel.channelHandlerContext().flush();
        pauseWhileQueueFull();
    }

    private void fail(int callId, Throwable failure) {
        write(Buffer.buffer(
                WireCalls.failureFrame(callId, WireCalls.storeError(failure)).array()));
    }

    private void write(Buffer frame) {
        socket.write(frame);
        pauseWhileQueueFull();
    }

    /** A client that stops reading its answers stops being read until they drain. */
    private void pauseWhileQueueFull() {
        ChannelHandlerContext context = channel.channelHandlerContext();
        if (!context.executor().inEventLoop()) { // a failure answered from a worker thread
            context.executor().execute(this::pauseWhileQueueFull);
            return;
        }
        if (!answersWaiting && socket.writeQueueFull()) {
            answersWaiting = true;
            reading(false);
            socket.drainHandler(done -> resume());
        }
    }

    private void resume() {
        answersWaiting = false;
        if (closed) {
            return;
        }
        if (held != null) {
            takeFrames(); // may fill the queue again, and pause again
        }
        if (!answersWaiting) {
            reading(true);
        }
    }

    /**
     * Starts or stops reading from the channel itself: {@link NetSocket#pause()} only holds back what Vert.x's own
     * handler queues, which this session does not use.
     */
    private void reading(boolean on) {
        channel.channelHandlerContext().channel().config().setAutoRead(on);
    }
}
