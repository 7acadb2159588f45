package dev.crescent.api.wire;

import io.netty.buffer.ByteBuf;
import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * An answer frame whose value is sent from its segment as it is, behind a head in a pooled buffer, and only while
 * the value's read lease holds it. The transport calls {@link #transferTo} each time the socket takes more; each
 * call first checks the clock against {@code sendByMillis}, so no byte leaves the segment once its range may hold
 * another object: the call fails instead, and the transport closes the connection with the rest unsent. The check and
 * the copy are one call on one thread, not a timer that may come late.
 *
 * <p>Released by the transport once sent, failed, or dropped with its connection: the head goes back to its pool and
 * {@code giveBack} hands back the lease.
 */
final class LeasedRegion extends AbstractReferenceCounted implements FileRegion {
    private final ByteBuf head;
    private final MemorySegment value;
    private final long sendByMillis;
    private final Runnable giveBack;
    private final int headBytes;
    private final long count;
    private long transferred;

    /**
     * @param head         the frame up to the value (released with this region)
     * @param value        the value's bytes in their segment
     * @param sendByMillis wall-clock time past which none of them is sent
     * @param giveBack     hands the read lease back
     */
    LeasedRegion(ByteBuf head, MemorySegment value, long sendByMillis, Runnable giveBack) {
        this.head = head;
        this.value = value;
        this.sendByMillis = sendByMillis;
        this.giveBack = giveBack;
        this.headBytes = head.readableBytes();
        this.count = headBytes + value.byteSize();
    }

    @Override
    public long transferTo(WritableByteChannel target, long position) throws IOException {
        if (System.currentTimeMillis() > sendByMillis) {
            throw new IOException("an answer sent from its segment was not taken within half its read lease: "
                    + (count - transferred) + " of its " + count + " bytes are dropped with the connection");
        }
        ByteBuffer rest = value.asSlice(Math.max(0, transferred - headBytes)).asByteBuffer();
        long written;
        if (head.isReadable()) {
            ByteBuffer[] both = {head.nioBuffer(), rest};
            written = target instanceof GatheringByteChannel gathering ? gathering.write(both) : target.write(both[0]);
            head.skipBytes((int) Math.min(written, head.readableBytes()));
        } else {
            written = target.write(rest);
        }
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
