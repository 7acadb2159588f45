package dev.crescent.api.wire;

import dev.crescent.protocol.Lending;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Sends a location's value from its segment as it is: the frame's head (header, location, the value's tag and length)
 * goes in a pooled buffer, the value after it stays in the segment, and the kernel copies it straight into the
 * socket. Copying it into the frame first was half of the master's user CPU in 64 KiB gets (5.2 us of 10.2).
 *
 * <p>The read lease that keeps the range from reuse is held until the bytes are sent, not until the call returns,
 * and no byte is sent past half the time the lease had left when the answer was made ({@link LeasedRegion}): a
 * caller that leaves them unread that long loses its connection when the master next tries to send them.
 */
final class InPlaceAnswer {
    /** Below this a copy into the frame costs less than a second buffer and its bookkeeping. */
    static final long LEAST_BYTES = 16 << 10;

    private InPlaceAnswer() {}

    /**
     * The value to send in place when {@code answer} is a single location carrying lent bytes of at least
     * {@link #LEAST_BYTES} whose lease leaves time to send them; else null.
     */
    static MemorySegment valueOf(Object answer, Lending lending) {
        if (!(answer instanceof GetReplicaListResponse location)) {
            return null;
        }
        MemorySegment value = lending.lent(0);
        // The clock last: it is read for large values only, not for every answer.
        return value != null && value.byteSize() >= LEAST_BYTES && leavesTime(location) ? value : null;
    }

    private static boolean leavesTime(GetReplicaListResponse location) {
        long now = System.currentTimeMillis();
        return sendBy(location, now) > now;
    }

    /**
     * The answer as one message for the channel: released once sent or dropped, which ends the lending (hands the
     * read lease back).
     */
    static LeasedRegion region(
            ByteBufAllocator alloc, int callId, GetReplicaListResponse location, MemorySegment value, Lending lending)
            throws IOException {
        ByteBuf head = LentAnswer.frame(
                alloc,
                callId,
                LentAnswer.headSize(location, value),
                value.byteSize(),
                out -> LentAnswer.writeHead(location, value, out));
        return new LeasedRegion(head, value, sendBy(location, System.currentTimeMillis()), lending.keep());
    }

    /**
     * When the last byte may leave: half way from now to the lease's deadline, so a caller whose lease is nearly over
     * reads nothing stale even if the clock is read a little early.
     */
    private static long sendBy(GetReplicaListResponse location, long nowMillis) {
        return nowMillis + (location.getLeaseDeadlineMs() - nowMillis) / 2;
    }
}
