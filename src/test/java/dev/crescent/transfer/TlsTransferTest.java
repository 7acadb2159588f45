package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.it.CertificateAuthority;
import dev.crescent.transfer.tcp.TcpServerLimits;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransferServer;
import dev.crescent.transfer.tcp.TcpTransport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import javax.net.ssl.SSLContext;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TCP transfers over TLS ({@code crescent.transfer.tcp.tls}): a transfer server that speaks TLS only, and the TCP
 * transport reaching it through both its paths (the pipelined connections, whose writer and reader threads use one
 * TLS session at once, and the connection a waiting caller borrows), at sizes from one byte to several slices.
 * Without a TLS context, with a plain connection or with another authority's trust, nothing moves.
 */
@Timeout(60)
class TlsTransferTest {
    private static final String SEGMENT = "tls-seg";
    private static final long SEGMENT_BYTES = 32L << 20;

    @TempDir
    static Path pki;

    private static CertificateAuthority ca;
    private static TcpTransferServer server;
    private static String endpoint;

    @BeforeAll
    static void startServer() throws Exception {
        ca = CertificateAuthority.create(pki, "transfer-ca");
        RegisteredMemory memory = new RegisteredMemory();
        memory.register(SEGMENT, Arena.ofShared().allocate(SEGMENT_BYTES), "cpu:0");
        server = new TcpTransferServer(
                memory,
                new InetSocketAddress("127.0.0.1", 0),
                TcpServerLimits.of(Duration.ofSeconds(5), Duration.ofSeconds(5)),
                null,
                ca.issue("worker").serverContext());
        endpoint = new PeerAddress("", "127.0.0.1:" + server.port(), "", "", false, true).format();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static TcpSettings settings() {
        return new TcpSettings(
                3, 256 * 1024, Duration.ofSeconds(10), 2, 5, Duration.ofSeconds(10), Duration.ofSeconds(1));
    }

    @Test
    void bytesRoundTripOverTlsOnPipelinedAndBorrowedConnections() throws Exception {
        try (TcpTransport tls = new TcpTransport("tls-test", settings(), ca.trustOnly())) {
            long offset = 0;
            for (int size : new int[] {1, 4096, (1 << 20) + 7, 5 << 20}) {
                byte[] value = TransferEngineTest.random(size, size);
                // Pipelined (submit), read back by the caller itself (runAll), then the other way round.
                tls.submit(write(value, offset)).join();
                byte[] back = new byte[size];
                tls.runAll(List.of(read(back, offset))).getFirst().join();
                assertArrayEquals(value, back, "submit then runAll, size " + size);
                byte[] second = TransferEngineTest.random(size, size + 1);
                tls.runAll(List.of(write(second, offset))).getFirst().join();
                tls.submit(read(back, offset)).join();
                assertArrayEquals(second, back, "runAll then submit, size " + size);
                offset += size;
            }

            // Many requests in flight at once: writer and reader threads share each TLS session.
            List<byte[]> values = new ArrayList<>();
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                values.add(TransferEngineTest.random(300_000, 100 + i));
                writes.add(tls.submit(write(values.get(i), (8L << 20) + i * 300_000L)));
            }
            writes.forEach(CompletableFuture::join);
            List<byte[]> backs = new ArrayList<>();
            List<CompletableFuture<Void>> reads = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                backs.add(new byte[300_000]);
                reads.add(tls.submit(read(backs.get(i), (8L << 20) + i * 300_000L)));
            }
            reads.forEach(CompletableFuture::join);
            for (int i = 0; i < 24; i++) {
                assertArrayEquals(values.get(i), backs.get(i), "request " + i);
            }
        }
    }

    @Test
    void noTlsContextAPlainConnectionOrAnotherAuthorityMovesNothing() throws Exception {
        try (TcpTransport plain = new TcpTransport("no-tls", settings())) {
            StoreException refused = failure(plain.submit(read(new byte[16], 0)));
            assertEquals(ErrorCode.TRANSFER_FAIL, refused.code());
            assertTrue(refused.getMessage().contains("TLS only"), refused.getMessage());

            // An endpoint that does not say tls: the plain handshake meets a TLS server and fails, it does not hang.
            String unmarked = "tcp=127.0.0.1:" + server.port();
            TransferRequest request =
                    new TransferRequest(TransferOp.READ, MemorySegment.ofArray(new byte[16]), SEGMENT, unmarked, 0);
            assertEquals(ErrorCode.TRANSFER_FAIL, failure(plain.submit(request)).code());
        }
        SSLContext stranger = CertificateAuthority.create(pki, "other-ca").trustOnly();
        try (TcpTransport untrusting = new TcpTransport("other-trust", settings(), stranger)) {
            assertEquals(
                    ErrorCode.TRANSFER_FAIL,
                    failure(untrusting.submit(read(new byte[16], 0))).code());
        }
    }

    private static StoreException failure(CompletableFuture<Void> transfer) {
        CompletionException failed = assertThrows(CompletionException.class, transfer::join);
        return (StoreException) failed.getCause();
    }

    private static TransferRequest write(byte[] value, long offset) {
        return new TransferRequest(TransferOp.WRITE, MemorySegment.ofArray(value), SEGMENT, endpoint, offset);
    }

    private static TransferRequest read(byte[] into, long offset) {
        return new TransferRequest(TransferOp.READ, MemorySegment.ofArray(into), SEGMENT, endpoint, offset);
    }
}
