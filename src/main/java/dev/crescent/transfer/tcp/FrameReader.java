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

    FrameReader(ReadableByteChannel channel, int capacity) {
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(capacity);
        buffer.flip();
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

    /** Copies the next {@code destination.remaining()} bytes into {@code destination}. */
    void readInto(ByteBuffer destination) throws IOException {
        if (buffer.hasRemaining()) {
            int n = Math.min(buffer.remaining(), destination.remaining());
            ByteBuffer part = buffer.slice(buffer.position(), n);
            destination.put(part);
            buffer.position(buffer.position() + n);
        }
        TcpProtocol.readFully(channel, destination);
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
        try {
            return channel.read(buffer);
        } finally {
            buffer.flip();
        }
    }
}
