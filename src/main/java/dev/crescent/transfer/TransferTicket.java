package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.nio.ByteBuffer;

/**
 * The master's permission to move bytes of one segment range: the op, the range, when it was issued, an expiry, and
 * a MAC over them that only holders of the cluster's ticket secret can make. A worker that enforces access serves a
 * slice only when it lies inside the granted range of a valid, unexpired ticket for the same op and segment, issued
 * after the range was last freed.
 *
 * <p>A revoking ticket is the master's own WRITE ticket for a range it frees (to scrub it): a worker that sees one
 * refuses, from then on, every ticket for that range issued before it (see {@link RangeFences}). Only the master can
 * make one: the MAC covers the difference.
 *
 * @param issuedAtMicros the signer's issue stamp (microseconds, strictly increasing per signer)
 * @param mac {@link #MAC_BYTES} bytes of HMAC-SHA256
 */
public record TransferTicket(
        TransferOp op,
        String segment,
        long offset,
        long length,
        long issuedAtMicros,
        long expiresAtMillis,
        boolean revokes,
        byte[] mac) {
    public static final int MAC_BYTES = 32;
    /** Encoded size without the segment name (which travels beside it): op, offset, length, issue, expiry, MAC. */
    public static final int ENCODED_BYTES = 1 + 8 + 8 + 8 + 8 + MAC_BYTES;

    static final byte READ_BYTE = 1;
    static final byte WRITE_BYTE = 2;
    static final byte REVOKING_WRITE_BYTE = 3;

    public TransferTicket {
        if (mac == null || mac.length != MAC_BYTES) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS, "a transfer ticket carries a " + MAC_BYTES + "-byte MAC");
        }
        if (revokes && op != TransferOp.WRITE) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "only a WRITE ticket revokes");
        }
    }

    /** The op byte the MAC covers (and the portable form carries). */
    byte opByte() {
        return opByte(op, revokes);
    }

    static byte opByte(TransferOp op, boolean revokes) {
        return op == TransferOp.READ ? READ_BYTE : revokes ? REVOKING_WRITE_BYTE : WRITE_BYTE;
    }

    /** The portable form (gRPC, clients in other languages); the segment name is not included. */
    public byte[] encode() {
        ByteBuffer out = ByteBuffer.allocate(ENCODED_BYTES);
        out.put(opByte())
                .putLong(offset)
                .putLong(length)
                .putLong(issuedAtMicros)
                .putLong(expiresAtMillis)
                .put(mac);
        return out.array();
    }

    /** @return the ticket, or null for an empty encoding (no ticket) */
    public static TransferTicket decode(String segment, byte[] encoded) {
        if (encoded == null || encoded.length == 0) {
            return null;
        }
        if (encoded.length != ENCODED_BYTES) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "transfer ticket of " + encoded.length + " bytes; expected " + ENCODED_BYTES);
        }
        ByteBuffer in = ByteBuffer.wrap(encoded);
        byte op = in.get();
        if (op != READ_BYTE && op != WRITE_BYTE && op != REVOKING_WRITE_BYTE) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "transfer ticket with unknown op " + op);
        }
        return read(in, op == READ_BYTE ? TransferOp.READ : TransferOp.WRITE, segment, op == REVOKING_WRITE_BYTE);
    }

    /** Writes the fields after the op byte: offset, length, issue stamp, expiry, MAC (the TCP request's form). */
    public void writeFields(ByteBuffer out) {
        out.putLong(offset)
                .putLong(length)
                .putLong(issuedAtMicros)
                .putLong(expiresAtMillis)
                .put(mac);
    }

    /** Reads what {@link #writeFields} wrote, for a ticket of {@code op} on {@code segment}. */
    public static TransferTicket read(ByteBuffer in, TransferOp op, String segment, boolean revokes) {
        long offset = in.getLong();
        long length = in.getLong();
        long issued = in.getLong();
        long expires = in.getLong();
        byte[] mac = new byte[MAC_BYTES];
        in.get(mac);
        return new TransferTicket(op, segment, offset, length, issued, expires, revokes, mac);
    }
}
