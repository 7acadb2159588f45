package dev.crescent.api.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * An answer frame whose values are sent from their segments as they are, between the pieces of a pooled buffer that
 * holds the rest of the frame, and only while the values' read leases hold them. The transport calls {@link
 * #transferTo} each time the socket takes more; each call first checks the clock against {@code sendByMillis}, so no
 * byte leaves a segment once its range may hold another object: the call fails instead, and the transport closes the
 * connection with the rest unsent. The check and the copy are one call on one thread, not a timer that may come late.
 *
 * <p>Released by the transport once sent, failed, or dropped with its connection: the buffer goes back to its pool
 * and {@code giveBack} hands back the leases.
 */
final class LeasedRegion extends AbstractReferenceCounted implements FileRegion {
    /** The most pieces one write hands the kernel: Linux's IOV_MAX. */
    private static final int MAX_PIECES = 1024;

    private final ByteBuf head;
    private final ByteBuffer[] pieces;
    private final long sendByMillis;
    private final Runnable giveBack;
    private final long count;
    private int next;
    private long transferred;

    /**
     * @param head         the frame but the values (released with this region)
     * @param pieces       the frame in order: views of {@code head} and the values' bytes in their segments
     * @param sendByMillis wall-clock time past which none of them is sent
     * @param giveBack     hands the read leases back
     */
    LeasedRegion(ByteBuf head, ByteBuffer[] pieces, long sendByMillis, Runnable giveBack) {
        this.head = head;
        this.pieces = pieces;
        this.sendByMillis = sendByMillis;
        this.giveBack = giveBack;
        long bytes = 0;
        for (ByteBuffer piece : pieces) {
            bytes += piece.remaining();
        }
        this.count = bytes;
    }

    @Override
    public long transferTo(WritableByteChannel target, long position) throws IOException {
        if (System.currentTimeMillis() > sendByMillis) {
            throw new IOException("an answer sent from its segments was not taken within half its read lease: "
                    + (count - transferred) + " of its " + count + " bytes are dropped with the connection");
        }
        while (next < pieces.length - 1 && !pieces[next].hasRemaining()) {
            next++;
        }
        long written = target instanceof GatheringByteChannel gathering
                ? gathering.write(pieces, next, Math.min(MAX_PIECES, pieces.length - next))
                : target.write(pieces[next]);
        transferred += written;
        return written;
    }

    @Override
    public long position() {
        return 0;
    }

    @Override
    @Deprecated
    public long transfered() {
        return transferred;
    }

    @Override
    public long transferred() {
        return transferred;
    }

    @Override
    public long count() {
        return count;
    }

    @Override
    public LeasedRegion retain() {
        super.retain();
        return this;
    }

    @Override
    public LeasedRegion retain(int increment) {
        super.retain(increment);
        return this;
    }

    @Override
    public LeasedRegion touch() {
        return this;
    }

    @Override
    public LeasedRegion touch(Object hint) {
        return this;
    }

    @Override
    protected void deallocate() {
        head.release();
        giveBack.run();
    }
}
