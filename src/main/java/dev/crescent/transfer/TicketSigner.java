package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs (master) and verifies (worker) transfer tickets with HMAC-SHA256 under a secret every master and worker of
 * a cluster share. The MAC covers op, segment, range and expiry, so a ticket cannot be widened, moved to another
 * segment, turned from a read into a write, or kept past its expiry.
 */
public final class TicketSigner {
    private static final String ALGORITHM = "HmacSHA256";

    private final SecretKeySpec key;
    private final ThreadLocal<Mac> macs;

    public TicketSigner(byte[] secret) {
        if (secret == null || secret.length < 16) {
            throw new IllegalArgumentException("the ticket secret must be at least 16 bytes");
        }
        this.key = new SecretKeySpec(secret.clone(), ALGORITHM);
        this.macs = ThreadLocal.withInitial(this::newMac);
    }

    /** A signer with a fresh random secret: for a single process that both signs and verifies (standalone). */
    public static TicketSigner random() {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        return new TicketSigner(secret);
    }

    public TransferTicket sign(TransferOp op, String segment, long offset, long length, long expiresAtMillis) {
        return new TransferTicket(
                op, segment, offset, length, expiresAtMillis, mac(op, segment, offset, length, expiresAtMillis));
    }

    /**
     * Checks that {@code ticket} allows {@code op} on {@code [offset, offset+length)} of {@code segment} now.
     *
     * @throws StoreException UNAUTHENTICATED without a ticket, PERMISSION_DENIED for a forged, expired or
     *                        too narrow one
     */
    public void verify(TransferTicket ticket, TransferOp op, String segment, long offset, long length, long nowMillis) {
        if (ticket == null) {
            throw new StoreException(
                    ErrorCode.UNAUTHENTICATED, "this worker only serves transfers that carry a master-signed ticket");
        }
        byte[] expected =
                mac(ticket.op(), ticket.segment(), ticket.offset(), ticket.length(), ticket.expiresAtMillis());
        if (!MessageDigest.isEqual(expected, ticket.mac())) {
            throw new StoreException(ErrorCode.PERMISSION_DENIED, "transfer ticket signature is not valid");
        }
        if (ticket.op() != op || !ticket.segment().equals(segment)) {
            throw new StoreException(
                    ErrorCode.PERMISSION_DENIED,
                    "transfer ticket is for " + ticket.op() + " of segment '" + ticket.segment() + "', not " + op
                            + " of '" + segment + "'");
        }
        if (nowMillis > ticket.expiresAtMillis()) {
            throw new StoreException(
                    ErrorCode.PERMISSION_DENIED,
                    "transfer ticket expired " + (nowMillis - ticket.expiresAtMillis()) + " ms ago");
        }
        boolean inside =
                offset >= ticket.offset() && length >= 0 && offset - ticket.offset() <= ticket.length() - length;
        if (!inside) {
            throw new StoreException(
                    ErrorCode.PERMISSION_DENIED,
                    "range [%d, +%d) is outside the granted [%d, +%d)"
                            .formatted(offset, length, ticket.offset(), ticket.length()));
        }
    }

    private byte[] mac(TransferOp op, String segment, long offset, long length, long expiresAtMillis) {
        byte[] name = segment.getBytes(StandardCharsets.UTF_8);
        ByteBuffer message = ByteBuffer.allocate(1 + 24 + name.length);
        message.put(op == TransferOp.READ ? (byte) 1 : (byte) 2)
                .putLong(offset)
                .putLong(length)
                .putLong(expiresAtMillis)
                .put(name);
        return macs.get().doFinal(message.array());
    }

    private Mac newMac() {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
