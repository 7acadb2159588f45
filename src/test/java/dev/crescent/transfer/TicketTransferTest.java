package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A target in another JVM that enforces tickets serves exactly the granted ranges over TCP, nothing else. */
class TicketTransferTest {
    private static final long MINUTE = 60_000;
    private static TicketedTarget target;
    private static TransferEngine engine;

    @BeforeAll
    static void start() throws IOException {
        target = TicketedTarget.start("ticket-seg", 8L << 20, "ticket-test secret, 32 bytes ok");
        engine = target.engine;
    }

    @AfterAll
    static void stop() throws IOException {
        target.close();
    }

    private TransferTicket ticket(TransferOp op, long offset, long length, long expires) {
        return target.master.sign(op, target.segment(), offset, length, expires);
    }

    private static TransferRequest request(TransferOp op, byte[] buffer, long offset, TransferTicket ticket) {
        return target.request(op, buffer, offset, ticket);
    }

    @Test
    void aValidTicketMovesBytesEvenAcrossManySlices() {
        byte[] value = new byte[3 << 20];
        new Random(5).nextBytes(value);
        long now = System.currentTimeMillis();
        engine.execute(List.of(request(
                TransferOp.WRITE, value, 1 << 20, ticket(TransferOp.WRITE, 1 << 20, value.length, now + MINUTE))));
        byte[] back = new byte[value.length];
        engine.execute(List.of(
                request(TransferOp.READ, back, 1 << 20, ticket(TransferOp.READ, 1 << 20, value.length, now + MINUTE))));
        assertArrayEquals(value, back);
    }

    @Test
    void missingWrongOrExpiredTicketsAreRefusedAndTheConnectionStaysUsable() {
        long now = System.currentTimeMillis();
        byte[] buffer = new byte[4096];
        assertCode(ErrorCode.UNAUTHENTICATED, request(TransferOp.READ, buffer, 0, null));
        assertCode(
                ErrorCode.PERMISSION_DENIED,
                request(TransferOp.WRITE, buffer, 0, ticket(TransferOp.READ, 0, 4096, now + MINUTE)));
        assertCode(
                ErrorCode.PERMISSION_DENIED,
                request(TransferOp.READ, buffer, 4096, ticket(TransferOp.READ, 0, 4096, now + MINUTE)));
        assertCode(
                ErrorCode.PERMISSION_DENIED,
                request(TransferOp.READ, buffer, 0, ticket(TransferOp.READ, 0, 4096, now - 1)));
        TransferTicket forged = TicketSigner.random().sign(TransferOp.READ, target.segment(), 0, 4096, now + MINUTE);
        assertCode(ErrorCode.PERMISSION_DENIED, request(TransferOp.READ, buffer, 0, forged));

        byte[] value = "still served".getBytes(StandardCharsets.UTF_8);
        engine.execute(List.of(request(TransferOp.WRITE, value, 0, ticket(TransferOp.WRITE, 0, 4096, now + MINUTE))));
        byte[] back = new byte[value.length];
        engine.execute(List.of(request(TransferOp.READ, back, 0, ticket(TransferOp.READ, 0, 4096, now + MINUTE))));
        assertArrayEquals(value, back);
    }

    private static void assertCode(ErrorCode code, TransferRequest request) {
        StoreException e = assertThrows(StoreException.class, () -> engine.execute(List.of(request)));
        assertEquals(code, e.code(), e.getMessage());
    }
}
