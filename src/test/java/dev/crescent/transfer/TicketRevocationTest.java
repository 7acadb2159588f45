package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.tcp.TcpProtocol;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tickets are called back when the master frees their range (issue 24, and D1 of the hardening issue): the master's
 * revoking scrub makes a worker in another JVM refuse every earlier ticket for the range, READ and WRITE, while
 * tickets for other ranges and tickets issued afterwards still work; and a transfer already running under a revoked
 * ticket is cut off before the range's next occupant can reach it.
 */
class TicketRevocationTest {
    private static final long MINUTE = 60_000;
    private static final int BIG = 64 << 20;
    private static TicketedTarget target;
    private static TransferEngine engine;
    private static TicketSigner master;

    @BeforeAll
    static void start() throws IOException {
        target = TicketedTarget.start("revoke-seg", BIG, "revocation-test secret, 32 bytes");
        engine = target.engine;
        master = target.master;
    }

    @AfterAll
    static void stop() throws IOException {
        target.close();
    }

    @Test
    void aRevokingScrubRefusesEarlierTicketsForItsRangeOnly() {
        long base = 1 << 20;
        long now = System.currentTimeMillis();
        TransferTicket oldRead = master.sign(TransferOp.READ, target.segment(), base, 4096, now + MINUTE);
        TransferTicket oldWrite = master.sign(TransferOp.WRITE, target.segment(), base, 4096, now + MINUTE);
        TransferTicket neighbour = master.sign(TransferOp.READ, target.segment(), base + 4096, 4096, now + MINUTE);
        byte[] buffer = new byte[4096];
        engine.execute(List.of(request(TransferOp.READ, buffer, base, oldRead))); // valid until the range is freed

        scrub(base, 4096);

        assertRefused(request(TransferOp.READ, buffer, base, oldRead));
        assertRefused(request(TransferOp.WRITE, buffer, base + 1024, oldWrite));
        engine.execute(List.of(request(TransferOp.READ, buffer, base + 4096, neighbour)));
        byte[] next = "the range's next occupant".getBytes(StandardCharsets.UTF_8);
        engine.execute(List.of(request(
                TransferOp.WRITE,
                next,
                base,
                master.sign(TransferOp.WRITE, target.segment(), base, 4096, now + MINUTE))));
        byte[] back = new byte[next.length];
        engine.execute(List.of(request(
                TransferOp.READ,
                back,
                base,
                master.sign(TransferOp.READ, target.segment(), base, 4096, now + MINUTE))));
        assertArrayEquals(next, back, "tickets issued after the revocation work");
    }

    @Test
    void aRevokingTicketCannotBeForgedFromAWriteTicket() {
        long now = System.currentTimeMillis();
        TransferTicket write = master.sign(TransferOp.WRITE, target.segment(), 2 << 20, 4096, now + MINUTE);
        TransferTicket posing = new TransferTicket(
                TransferOp.WRITE,
                write.segment(),
                write.offset(),
                write.length(),
                write.issuedAtMicros(),
                write.expiresAtMillis(),
                true,
                write.mac());
        assertRefused(request(TransferOp.WRITE, new byte[4096], 2 << 20, posing));
        TransferTicket stillValid = master.sign(TransferOp.READ, target.segment(), 2 << 20, 4096, now + MINUTE);
        engine.execute(List.of(request(TransferOp.READ, new byte[4096], 2 << 20, stillValid)));
    }

    /**
     * A reader asks for the whole 64 MiB segment and stops reading its socket, so the server is stuck mid-transfer
     * with most of the bytes unsent. The master frees the range (a revoking scrub) and a new object is written at
     * its end. The reader, draining its socket now, must get only bytes from before the scrub: the server closed
     * its connection when the fence was raised.
     */
    @Test
    void aTransferStalledUnderARevokedTicketIsCutOffBeforeTheNextOccupantIsWritten() throws Exception {
        long now = System.currentTimeMillis();
        TransferTicket whole = master.sign(TransferOp.READ, target.segment(), 0, BIG, now + MINUTE);
        InetSocketAddress address = hostPort(PeerAddress.parse(target.tcp).tcp());
        try (SocketChannel reader = SocketChannel.open()) {
            reader.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
            reader.connect(address);
            TcpProtocol.clientHandshake(reader, "stalled-reader", address);
            byte[] name = target.segment().getBytes(StandardCharsets.UTF_8);
            ByteBuffer request =
                    ByteBuffer.allocate(TcpProtocol.REQUEST_HEADER_BYTES + name.length + TcpProtocol.TICKET_BYTES);
            TcpProtocol.writeRequestHeader(request, TcpProtocol.OP_READ, 1, 0, BIG, name, whole);
            TcpProtocol.writeFully(reader, request.flip());
            Thread.sleep(300); // the server fills the socket buffers and blocks

            scrub(0, BIG);
            byte[] secret = new byte[4096];
            Arrays.fill(secret, (byte) 0x5A);
            long secretAt = BIG - 4096;
            engine.execute(List.of(request(
                    TransferOp.WRITE,
                    secret,
                    secretAt,
                    master.sign(TransferOp.WRITE, target.segment(), secretAt, 4096, now + MINUTE))));

            long received = drain(reader, (byte) 0x5A);
            assertTrue(received < TcpProtocol.RESPONSE_HEADER_BYTES + BIG, "the whole transfer was sent: " + received);
        }
    }

    /** Reads until the server closes; @return bytes received; fails if {@code forbidden} arrives 64 times in a row. */
    private static long drain(SocketChannel reader, byte forbidden) throws IOException {
        reader.socket().setSoTimeout(10_000);
        ByteBuffer in = ByteBuffer.allocate(1 << 20);
        long total = 0;
        int run = 0;
        var stream = reader.socket().getInputStream();
        byte[] chunk = in.array();
        for (int n = readQuietly(stream, chunk); n > 0; n = readQuietly(stream, chunk)) {
            for (int i = 0; i < n; i++) {
                run = chunk[i] == forbidden ? run + 1 : 0;
                assertFalse(run >= 64, "the reader received the next occupant's bytes");
            }
            total += n;
        }
        return total;
    }

    private static int readQuietly(java.io.InputStream stream, byte[] chunk) {
        try {
            return stream.read(chunk);
        } catch (IOException reset) {
            return -1; // closed by the server: what the test waits for
        }
    }

    /** What the master does when it frees {@code [offset, offset+length)}: zeros under a revoking ticket. */
    private void scrub(long offset, long length) {
        TransferTicket revoking =
                master.signRevocation(target.segment(), offset, length, System.currentTimeMillis() + MINUTE);
        engine.execute(List.of(request(TransferOp.WRITE, new byte[(int) length], offset, revoking)));
    }

    private static TransferRequest request(TransferOp op, byte[] buffer, long offset, TransferTicket ticket) {
        return target.request(op, buffer, offset, ticket);
    }

    private static InetSocketAddress hostPort(String tcp) {
        int colon = tcp.lastIndexOf(':');
        return new InetSocketAddress(tcp.substring(0, colon), Integer.parseInt(tcp.substring(colon + 1)));
    }

    private static void assertRefused(TransferRequest request) {
        StoreException e = assertThrows(StoreException.class, () -> engine.execute(List.of(request)));
        assertEquals(ErrorCode.PERMISSION_DENIED, e.code(), e.getMessage());
    }
}
