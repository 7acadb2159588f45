package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.nio.ByteBuffer;

/**
 * The master's permission to move bytes of one segment range: the op, the range, an expiry, and a MAC over them
 * that only holders of the cluster's ticket secret can make. A worker that enforces access serves a slice only
 * when it lies inside the granted range of a valid, unexpired ticket for the same op and segment.
 *
 * @param mac {@link #MAC_BYTES} bytes of HMAC-SHA256
 */
public record TransferTicket(
        TransferOp op, String segment, long offset, long length, long expiresAtMillis, byte[] mac) {
    public static final int MAC_BYTES = 32;
    /** Encoded size without the segment name (which travels beside it): op, offset, length, expiry, MAC. */
    public static final int ENCODED_BYTES = 1 + 8 + 8 + 8 + MAC_BYTES;

    public TransferTicket {
        if (mac == null || mac.length != MAC_BYTES) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS, "a transfer ticket carries a " + MAC_BYTES + "-byte MAC");
        }
    }

    /** The portable form (gRPC, clients in other languages); the segment name is not included. */
    public byte[] encode() {
        ByteBuffer out = ByteBuffer.allocate(ENCODED_BYTES);
        out.put(op == TransferOp.READ ? (byte) 1 : (byte) 2)
                .putLong(offset)
                .putLong(length)
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
        if (op != 1 && op != 2) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "transfer ticket with unknown op " + op);
        }
        long offset = in.getLong();
        long length = in.getLong();
        long expires = in.getLong();
        byte[] mac = new byte[MAC_BYTES];
        in.get(mac);
        return new TransferTicket(op == 1 ? TransferOp.READ : TransferOp.WRITE, segment, offset, length, expires, mac);
    }
}
