package dev.crescent.transfer.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.Arrays;
import java.util.List;

/**
 * Writes the requests of slices back to back in one gathering write: a batch of small reads is one system call,
 * not one each, and a WRITE's payload goes from the caller's memory to the socket with no copy in Java. Used by
 * one thread at a time.
 */
final class RequestWriter {
    private static final int MAX_REQUEST_HEADER_BYTES =
            TcpProtocol.REQUEST_HEADER_BYTES + TcpProtocol.MAX_NAME_BYTES + TcpProtocol.TICKET_BYTES;

    private ByteBuffer headers = ByteBuffer.allocateDirect(16 * MAX_REQUEST_HEADER_BYTES);

    /** Writes the slices' requests with their current request ids. */
    void write(GatheringByteChannel channel, List<Slice> slices) throws IOException {
        ByteBuffer space = headerSpace(slices.size());
        ByteBuffer[] frames = new ByteBuffer[slices.size() * 2];
        int count = 0;
        for (Slice slice : slices) {
            int start = space.position();
            TcpProtocol.writeRequestHeader(
                    space,
                    slice.op,
                    slice.requestId,
                    slice.remoteOffset,
                    slice.length(),
                    slice.segmentName,
                    slice.ticket);
            frames[count++] = space.slice(start, space.position() - start);
            if (slice.op == TcpProtocol.OP_WRITE) {
                frames[count++] = slice.local.asByteBuffer();
            }
        }
        TcpProtocol.writeFully(channel, count == frames.length ? frames : Arrays.copyOf(frames, count));
    }

    /** Cleared room for {@code requests} request headers (grown as needed). */
    private ByteBuffer headerSpace(int requests) {
        int needed = requests * MAX_REQUEST_HEADER_BYTES;
        if (headers.capacity() < needed) {
            headers = ByteBuffer.allocateDirect(Integer.highestOneBit(needed - 1) << 1);
        }
        return headers.clear();
    }
}
