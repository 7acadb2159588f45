package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs (master) and verifies (worker) transfer tickets with HMAC-SHA256 under a secret every master and worker of
 * a cluster share. The MAC covers op, segment, range, issue stamp and expiry, so a ticket cannot be widened, moved to
 * another segment, turned from a read into a write (or into a revoking write), back-dated past a revocation, or kept
 * past its expiry. Issue stamps are wall-clock microseconds made strictly increasing, so a ticket signed after a
 * revoking one always carries a later stamp.
 */
public final class TicketSigner {
    private static final String ALGORITHM = "HmacSHA256";

    private final SecretKeySpec key;
    private final ThreadLocal<Mac> macs;
    private final AtomicLong lastIssued = new AtomicLong();

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
        return sign(op, false, segment, offset, length, expiresAtMillis);
    }

    /**
     * The master's WRITE ticket for a range it frees: a worker that sees it refuses every earlier ticket for the
     * range from then on. @param expiresAtMillis also how long workers keep the revocation: no earlier ticket may
     * outlive it
     */
    public TransferTicket signRevocation(String segment, long offset, long length, long expiresAtMillis) {
        return sign(TransferOp.WRITE, true, segment, offset, length, expiresAtMillis);
    }

    private TransferTicket sign(
            TransferOp op, boolean revokes, String segment, long offset, long length, long expiresAtMillis) {
        long issued = nextIssueStamp();
        byte[] mac = mac(TransferTicket.opByte(op, revokes), segment, offset, length, issued, expiresAtMillis);
        return new TransferTicket(op, segment, offset, length, issued, expiresAtMillis, revokes, mac);
    }

    /** Now in microseconds, or one more than the last stamp when the clock has not moved on (or went back). */
    private long nextIssueStamp() {
        Instant now = Instant.now();
        long micros = now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
        return lastIssued.accumulateAndGet(micros, (last, clock) -> Math.max(last + 1, clock));
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
        byte[] expected = mac(ticket);
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

    /** The MAC of every field but the MAC itself (the portable encoding's fields, then the segment name). */
    private byte[] mac(TransferTicket ticket) {
        return mac(
                ticket.opByte(),
                ticket.segment(),
                ticket.offset(),
                ticket.length(),
                ticket.issuedAtMicros(),
                ticket.expiresAtMillis());
    }

    private byte[] mac(byte op, String segment, long offset, long length, long issuedAtMicros, long expiresAtMillis) {
        byte[] name = segment.getBytes(StandardCharsets.UTF_8);
        ByteBuffer message = ByteBuffer.allocate(1 + 32 + name.length);
        message.put(op)
                .putLong(offset)
                .putLong(length)
                .putLong(issuedAtMicros)
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
