package dev.crescent.api.wire;

import dev.crescent.protocol.Lending;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Sends a location's value from its segment as it is: the frame's head (header, location, the value's tag and length)
 * goes in a pooled buffer, the value after it as a view of the segment, which the kernel copies straight into the
 * socket. Copying it into the frame first was a third of the master's user CPU in 64 KiB gets (5.2 us a get).
 *
 * <p>The read lease that keeps the range from reuse is held until the bytes are sent, not until the call returns. A
 * caller that leaves them unread past half the lease's time loses its connection: Netty drops what it has not sent
 * when its channel closes, so no byte of the range leaves once it may hold another object.
 */
final class InPlaceAnswer {
    /** Below this a copy into the frame costs less than a second buffer and its bookkeeping. */
    static final long LEAST_BYTES = 16 << 10;

    private InPlaceAnswer() {}

    /**
     * The value to send in place when {@code answer} is a single location carrying lent bytes of at least
     * {@link #LEAST_BYTES} whose lease leaves time to send them; else null.
     */
    static MemorySegment valueOf(Object answer, Lending lending, long nowMillis) {
        if (!(answer instanceof GetReplicaListResponse location)) {
            return null;
        }
        MemorySegment value = lending.lent(0);
        return value != null && value.byteSize() >= LEAST_BYTES && sendWithin(location, nowMillis) > 0 ? value : null;
    }

    /**
     * Writes and flushes the answer on the event loop of {@code context}; the lending's endings run once the value is
     * sent or the connection is gone, and {@code closeNow} runs if it is not sent in time.
     */
    static void write(
            ChannelHandlerContext context,
            Vertx vertx,
            int callId,
            GetReplicaListResponse location,
            MemorySegment value,
            Lending lending,
            Runnable closeNow)
            throws IOException {
        ByteBuf head = LentAnswer.frame(
                context.alloc(),
                callId,
                LentAnswer.headSize(location, value),
                value.byteSize(),
                out -> LentAnswer.writeHead(location, value, out));
        long within = Math.max(1, sendWithin(location, System.currentTimeMillis()));
        Runnable giveBack = lending.keep();
        context.write(head, context.voidPromise());
        // The view's buffer does not own the segment's memory: releasing it frees nothing.
        ChannelFuture sent = context.writeAndFlush(Unpooled.wrappedBuffer(value.asByteBuffer()));
        if (sent.isDone()) { // the usual case: the socket took it all during the flush
            giveBack.run();
            return;
        }
        long timer = vertx.setTimer(within, id -> {
            if (!sent.isDone()) {
                closeNow.run();
            }
        });
        sent.addListener(done -> {
            vertx.cancelTimer(timer);
            giveBack.run();
        });
    }

    /** Half the time the location's lease has left, in milliseconds (0 or less: too little to send in place). */
    private static long sendWithin(GetReplicaListResponse location, long nowMillis) {
        return (location.getLeaseDeadlineMs() - nowMillis) / 2;
    }
}
