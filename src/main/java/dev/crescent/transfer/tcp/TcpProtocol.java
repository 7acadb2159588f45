package dev.crescent.transfer.tcp;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferTicket;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * The transfer engine's TCP wire format (all integers big-endian).
 *
 * <pre>
 * handshake, client -> server: magic u32 "CRSC" | version u16 | name length u16 | capabilities u32 | 0 u32 | name
 * handshake, server -> client: magic u32 | version u16 | status u16 (0 ok) | capabilities u32 | 0 u32
 * request:  op u8 (1 read, 2 write, 3 RDMA connect) | flags u8 | segment name length u16 | 0 u32
 *           | request id u64 | offset u64 | length u64 | segment name | [ticket] | payload (write only)
 * ticket (flags bit 0): granted offset u64 | granted length u64 | issue stamp epoch us u64 | expiry epoch ms u64
 *           | HMAC-SHA256 (32 bytes) over op, segment and the four numbers (see {@link dev.crescent.transfer.TicketSigner});
 *           flags bit 1 (writes only): the ticket is the master's revoking one (its MAC's op is 3)
 * response: request id u64 | code i32 (0 ok, else a Crescent error number) | message length u32
 *           | payload length u64 | message | payload (read only)
 * RDMA connect (op 3): offset 0, length = the handshake's bytes, which follow as the payload; the answer's payload
 *           is the serving side's handshake (see {@code rdma.RdmaHandshake}).
 * </pre>
 * A server answers requests of one connection in order. Anything malformed before the payload closes the
 * connection (the stream cannot be resynchronised); a well-formed request for a range that is not registered
 * is answered with an error and the connection stays usable.
 */
public final class TcpProtocol {
    public static final int MAGIC = 0x43525343;
    public static final short VERSION = 1;
    public static final int HANDSHAKE_BYTES = 16;
    public static final int REQUEST_HEADER_BYTES = 32;
    public static final int RESPONSE_HEADER_BYTES = 24;
    public static final int MAX_NAME_BYTES = 255;
    public static final int MAX_MESSAGE_BYTES = 1024;
    /** The largest slice one request may carry; the client slices below it. */
    public static final long MAX_FRAME_BYTES = 64L << 20;

    public static final byte OP_READ = 1;
    public static final byte OP_WRITE = 2;
    public static final byte OP_RDMA_CONNECT = 3;
    /** The largest control payload (an RDMA handshake with its region list). */
    public static final int MAX_CONTROL_BYTES = 4 << 20;

    public static final short STATUS_OK = 0;
    public static final short STATUS_BAD_VERSION = 1;
    public static final int CAPABILITIES = 0;
    /** Request flag: a transfer ticket follows the segment name. */
    public static final byte FLAG_TICKET = 1;
    /** Request flag: that ticket is the master's revoking WRITE ticket for a range it frees. */
    public static final byte FLAG_REVOKING = 2;

    public static final int TICKET_BYTES = 32 + TransferTicket.MAC_BYTES;

    private TcpProtocol() {}

    public static ByteBuffer handshake(String engineName) {
        byte[] name = truncate(engineName.getBytes(StandardCharsets.UTF_8), MAX_NAME_BYTES);
        ByteBuffer out = ByteBuffer.allocate(HANDSHAKE_BYTES + name.length);
        out.putInt(MAGIC)
                .putShort(VERSION)
                .putShort((short) name.length)
                .putInt(CAPABILITIES)
                .putInt(0)
                .put(name);
        return out.flip();
    }

    /** The client's side of the handshake on a connected channel; throws IOException when {@code peer} refuses. */
    public static <C extends ReadableByteChannel & GatheringByteChannel> void clientHandshake(
            C channel, String engineName, Object peer) throws IOException {
        writeFully(channel, handshake(engineName));
        ByteBuffer reply = ByteBuffer.allocate(HANDSHAKE_BYTES);
        readFully(channel, reply);
        reply.flip();
        if (reply.getInt() != MAGIC) {
            throw new IOException(peer + " is not a Crescent transfer server");
        }
        short version = reply.getShort();
        short status = reply.getShort();
        if (status != STATUS_OK) {
            throw new IOException(peer + " refused the handshake (status " + status + ", its version " + version
                    + ", ours " + VERSION + ")");
        }
    }

    public static ByteBuffer handshakeReply(short status) {
        ByteBuffer out = ByteBuffer.allocate(HANDSHAKE_BYTES);
        out.putInt(MAGIC)
                .putShort(VERSION)
                .putShort(status)
                .putInt(CAPABILITIES)
                .putInt(0);
        return out.flip();
    }

    /** @param ticket the master's ticket for the range, or null */
    public static void writeRequestHeader(
            ByteBuffer out,
            byte op,
            long requestId,
            long offset,
            long length,
            byte[] segmentName,
            TransferTicket ticket) {
        out.put(op)
                .put(ticket == null ? 0 : ticket.revokes() ? (byte) (FLAG_TICKET | FLAG_REVOKING) : FLAG_TICKET)
                .putShort((short) segmentName.length)
                .putInt(0)
                .putLong(requestId)
                .putLong(offset)
                .putLong(length)
                .put(segmentName);
        if (ticket != null) {
            ticket.writeFields(out);
        }
    }

    /** Reads a ticket block (positioned at it) for a request of {@code op} on {@code segment}. */
    public static TransferTicket readTicket(ByteBuffer in, byte op, String segment, boolean revoking) {
        return TransferTicket.read(in, op == OP_READ ? TransferOp.READ : TransferOp.WRITE, segment, revoking);
    }

    public static void writeResponseHeader(
            ByteBuffer out, long requestId, int code, byte[] message, long payloadLength) {
        out.putLong(requestId)
                .putInt(code)
                .putInt(message.length)
                .putLong(payloadLength)
                .put(message);
    }

    public static byte[] errorMessage(StoreException e) {
        return truncate(String.valueOf(e.getMessage()).getBytes(StandardCharsets.UTF_8), MAX_MESSAGE_BYTES);
    }

    public static StoreException remoteError(int code, byte[] message) {
        return new StoreException(ErrorCode.fromNumber(code), "remote: " + new String(message, StandardCharsets.UTF_8));
    }

    /** Reads exactly {@code buffer.remaining()} bytes; EOF in between is an error. */
    public static void readFully(ReadableByteChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("connection closed by peer");
            }
        }
    }

    /** Writes header and payload with gathering writes: one syscall for a small frame, not one per buffer. */
    public static void writeFully(GatheringByteChannel channel, ByteBuffer... buffers) throws IOException {
        while (hasRemaining(buffers)) {
            channel.write(buffers);
        }
    }

    private static boolean hasRemaining(ByteBuffer[] buffers) {
        for (ByteBuffer buffer : buffers) {
            if (buffer.hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    private static byte[] truncate(byte[] bytes, int max) {
        if (bytes.length <= max) {
            return bytes;
        }
        byte[] cut = new byte[max];
        System.arraycopy(bytes, 0, cut, 0, max);
        return cut;
    }
}
