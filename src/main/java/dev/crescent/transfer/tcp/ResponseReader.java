package dev.crescent.transfer.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * Reads the answers of a transfer server, one at a time: {@link #next()} reads an answer's header and message,
 * {@link #readPayload} reads its payload into the slice it answers, {@link #complete} completes the slice. Used by
 * one thread at a time.
 */
final class ResponseReader {
    /**
     * Answers are read through a buffer whose reads adapt to the payloads arriving: after a large READ payload a
     * read brings at most {@link #LARGE_PAYLOAD_FILL} bytes, leaving most of the next payload to go from the socket
     * straight into the caller's memory without an extra copy; after a small one a read brings up to the whole
     * buffer, many answers at once (figures in DESIGN.md section 9).
     */
    private static final int BUFFER_BYTES = 64 << 10;

    private static final int LARGE_PAYLOAD_FILL = 4096;
    /** READ payloads up to this size count as small. */
    private static final int SMALL_PAYLOAD_BYTES = 16 << 10;

    private final FrameReader in;
    private long requestId;
    private int code;
    private byte[] message;
    private long payloadLength;

    ResponseReader(ReadableByteChannel channel) {
        in = new FrameReader(channel, BUFFER_BYTES);
        in.fillLimit(LARGE_PAYLOAD_FILL);
    }

    /** Reads the next answer up to its payload; @return the id of the request it answers */
    long next() throws IOException {
        ByteBuffer header = in.require(TcpProtocol.RESPONSE_HEADER_BYTES);
        requestId = header.getLong();
        code = header.getInt();
        int messageLength = header.getInt();
        payloadLength = header.getLong();
        if (messageLength < 0 || messageLength > TcpProtocol.MAX_MESSAGE_BYTES) {
            throw new IOException("bad response: message length " + messageLength);
        }
        message = new byte[messageLength];
        if (messageLength > 0) {
            in.require(messageLength).get(message);
        }
        return requestId;
    }

    /** Reads the current answer's payload into {@code slice}'s memory; one that does not fit breaks the stream. */
    void readPayload(Slice slice) throws IOException {
        if (code == 0 && slice.op == TcpProtocol.OP_READ) {
            if (payloadLength != slice.length()) {
                throw new IOException("response carries " + payloadLength + " bytes, asked " + slice.length());
            }
            in.readInto(slice.local.asByteBuffer());
            in.fillLimit(payloadLength <= SMALL_PAYLOAD_BYTES ? BUFFER_BYTES : LARGE_PAYLOAD_FILL);
        } else if (payloadLength != 0) {
            throw new IOException("unexpected payload of " + payloadLength + " bytes");
        }
    }

    /** Completes {@code slice} with the current answer: done, or failed with the server's code and message. */
    void complete(Slice slice) {
        if (code == 0) {
            slice.done.complete(null);
        } else {
            slice.done.completeExceptionally(TcpProtocol.remoteError(code, message));
        }
    }
}
