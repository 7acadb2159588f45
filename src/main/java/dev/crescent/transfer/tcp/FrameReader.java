package dev.crescent.transfer.tcp;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Buffered reading of frames from a channel: one read syscall usually brings a header together with the
 * headers of the requests pipelined behind it. Payloads bypass the buffer once it is drained, so a large payload
 * goes from the socket straight into its destination memory.
 */
final class FrameReader {
    private final ReadableByteChannel channel;
    private final ByteBuffer buffer;
    private int fillLimit;

    FrameReader(ReadableByteChannel channel, int capacity) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(capacity);
        this.fillLimit = capacity;
        buffer.flip();
    }

    /**
     * The most bytes one read from the channel brings into the buffer (at most its capacity). Small while large
     * payloads arrive, so that little of each passes through the buffer (an extra copy); large while small frames
     * arrive, so that one read brings many of them.
     */
    void fillLimit(int bytes) {
        fillLimit = Math.clamp(bytes, 1, buffer.capacity());
    }

    /**
     * Blocks until at least one byte is available.
     *
     * @return false at a clean end of stream (between frames)
     */
    boolean awaitData() throws IOException {
        return buffer.hasRemaining() || fill() > 0;
    }

    /** Bytes already received and not yet consumed. */
    int buffered() {
        return buffer.remaining();
    }

    /** Makes at least {@code bytes} (at most the buffer's capacity) readable from {@link #buffer()}. */
    ByteBuffer require(int bytes) throws IOException {
        while (buffer.remaining() < bytes) {
            if (fill() < 0) {
                throw new EOFException("connection closed in the middle of a frame");
            }
        }
        return buffer;
    }

    /**
     * Moves the next {@code destination.remaining()} bytes into {@code destination}: what is buffered is copied, a
     * remainder of at least the fill limit is read straight into place, a smaller one is filled through the buffer
     * (the same read then brings the frames behind it).
     */
    void readInto(ByteBuffer destination) throws IOException {
        while (destination.hasRemaining()) {
            if (buffer.hasRemaining()) {
                int n = Math.min(buffer.remaining(), destination.remaining());
                destination.put(buffer.slice(buffer.position(), n));
                buffer.position(buffer.position() + n);
            } else if (destination.remaining() >= fillLimit) {
                TcpProtocol.readFully(channel, destination);
            } else if (fill() < 0) {
                throw new EOFException("connection closed in the middle of a frame");
            }
        }
    }

    /** Drops the next {@code bytes} bytes. */
    void skip(long bytes) throws IOException {
        long left = bytes;
        while (left > 0) {
            if (!buffer.hasRemaining() && fill() < 0) {
                throw new EOFException("connection closed in the middle of a frame");
            }
            int n = (int) Math.min(left, buffer.remaining());
            buffer.position(buffer.position() + n);
            left -= n;
        }
    }

    private int fill() throws IOException {
        buffer.compact();
        buffer.limit(Math.min(buffer.capacity(), buffer.position() + fillLimit));
        try {
            return channel.read(buffer);
        } finally {
            buffer.flip();
        }
    }
}
