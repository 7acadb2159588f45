package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tickets allow exactly the op, segment and range they were signed for, until they expire. */
class TicketSignerTest {
    private static final long NOW = 1_000_000;
    private final TicketSigner signer =
            new TicketSigner("a cluster secret of some length".getBytes(StandardCharsets.UTF_8));
    private final TransferTicket ticket = signer.sign(TransferOp.WRITE, "seg", 4096, 1 << 20, NOW + 5000);

    @Test
    void aTicketAllowsItsRangeAndAnySliceOfIt() {
        signer.verify(ticket, TransferOp.WRITE, "seg", 4096, 1 << 20, NOW);
        signer.verify(ticket, TransferOp.WRITE, "seg", 4096 + 65536, 65536, NOW + 5000);
        signer.verify(ticket, TransferOp.WRITE, "seg", 4096 + (1 << 20) - 1, 1, NOW);
    }

    @Test
    void everythingElseIsRefused() {
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(ticket, TransferOp.READ, "seg", 4096, 10, NOW));
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(ticket, TransferOp.WRITE, "other", 4096, 10, NOW));
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(ticket, TransferOp.WRITE, "seg", 4095, 10, NOW));
        denied(
                ErrorCode.PERMISSION_DENIED,
                () -> signer.verify(ticket, TransferOp.WRITE, "seg", 4096 + (1 << 20) - 1, 2, NOW));
        denied(
                ErrorCode.PERMISSION_DENIED,
                () -> signer.verify(ticket, TransferOp.WRITE, "seg", Long.MAX_VALUE - 1, 10, NOW));
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(ticket, TransferOp.WRITE, "seg", 4096, 10, NOW + 5001));
        denied(ErrorCode.UNAUTHENTICATED, () -> signer.verify(null, TransferOp.WRITE, "seg", 4096, 10, NOW));
    }

    @Test
    void aTamperedOrForeignTicketIsRefused() {
        TransferTicket widened = new TransferTicket(
                ticket.op(),
                ticket.segment(),
                0,
                1L << 30,
                ticket.issuedAtMicros(),
                ticket.expiresAtMillis(),
                false,
                ticket.mac());
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(widened, TransferOp.WRITE, "seg", 0, 10, NOW));
        TransferTicket prolonged = new TransferTicket(
                ticket.op(),
                ticket.segment(),
                ticket.offset(),
                ticket.length(),
                ticket.issuedAtMicros(),
                Long.MAX_VALUE,
                false,
                ticket.mac());
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(prolonged, TransferOp.WRITE, "seg", 4096, 10, NOW));
        // Re-dated past a revocation, or made into the master's revoking write: the MAC covers both.
        TransferTicket redated = new TransferTicket(
                ticket.op(),
                ticket.segment(),
                ticket.offset(),
                ticket.length(),
                Long.MAX_VALUE,
                ticket.expiresAtMillis(),
                false,
                ticket.mac());
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(redated, TransferOp.WRITE, "seg", 4096, 10, NOW));
        TransferTicket revoking = new TransferTicket(
                ticket.op(),
                ticket.segment(),
                ticket.offset(),
                ticket.length(),
                ticket.issuedAtMicros(),
                ticket.expiresAtMillis(),
                true,
                ticket.mac());
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(revoking, TransferOp.WRITE, "seg", 4096, 10, NOW));
        TransferTicket foreign = TicketSigner.random().sign(TransferOp.WRITE, "seg", 4096, 1 << 20, NOW + 5000);
        denied(ErrorCode.PERMISSION_DENIED, () -> signer.verify(foreign, TransferOp.WRITE, "seg", 4096, 10, NOW));
    }

    @Test
    void issueStampsStrictlyIncreaseSoATicketSignedAfterARevocationIsAlwaysLater() {
        long previous = signer.signRevocation("seg", 0, 64, NOW + 5000).issuedAtMicros();
        for (int i = 0; i < 10_000; i++) {
            long next = signer.sign(TransferOp.READ, "seg", 0, 64, NOW + 5000).issuedAtMicros();
            assertTrue(next > previous);
            previous = next;
        }
    }

    @Test
    void theEncodedFormRoundTrips() {
        TransferTicket back = TransferTicket.decode("seg", ticket.encode());
        signer.verify(back, TransferOp.WRITE, "seg", 4096, 10, NOW);
        TransferTicket revoking = signer.signRevocation("seg", 4096, 64, NOW + 5000);
        TransferTicket revokingBack = TransferTicket.decode("seg", revoking.encode());
        assertTrue(revokingBack.revokes());
        signer.verify(revokingBack, TransferOp.WRITE, "seg", 4096, 64, NOW);
        assertEquals(null, TransferTicket.decode("seg", new byte[0]));
        denied(ErrorCode.INVALID_PARAMS, () -> TransferTicket.decode("seg", new byte[7]));
    }

    private static void denied(ErrorCode code, Executable call) {
        assertEquals(code, assertThrows(StoreException.class, call).code());
    }
}
