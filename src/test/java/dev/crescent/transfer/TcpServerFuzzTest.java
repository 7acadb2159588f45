package dev.crescent.transfer;

import dev.crescent.transfer.tcp.TcpProtocol;
import dev.crescent.transfer.tcp.TcpServerLimits;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransferServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile input to the transfer server: random bytes, HTTP and TLS probes, wrong versions, random headers,
 * stalled frames. None may crash it, wedge a thread, or touch memory; a good client must still work after.
 */
class TcpServerFuzzTest {
    private static final int SEGMENT_BYTES = 1 << 20;
    private RegisteredMemory memory;
    private TcpTransferServer server;
    private byte[] canary;

    @BeforeEach
    void start() throws IOException {
        memory = new RegisteredMemory();
        var segment = Arena.ofAuto().allocate(SEGMENT_BYTES);
        canary = TransferEngineTest.random(SEGMENT_BYTES, 99);
        segment.copyFrom(java.lang.foreign.MemorySegment.ofArray(canary));
        memory.register("seg", segment, "cpu:0");
        server = new TcpTransferServer(
                memory, new InetSocketAddress("127.0.0.1", 0), Duration.ofMillis(500), Duration.ofMillis(800));
    }

    @AfterEach
    void stop() {
        server.close(Duration.ofSeconds(1));
    }

    @Test
    void randomBytesProbesAndBadVersionsAreRejectedCleanly() throws Exception {
        Random random = new Random(1234);
        for (int round = 0; round < 100; round++) {
            byte[] garbage = new byte[1 + random.nextInt(200)];
            random.nextBytes(garbage);
            assertClosedAfter(garbage);
        }
        assertClosedAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertClosedAfter(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03});
        ByteBuffer wrongVersion = TcpProtocol.handshake("fuzzer");
        wrongVersion.putShort(4, (short) 99);
        byte[] reply = exchange(wrongVersion.array(), TcpProtocol.HANDSHAKE_BYTES);
        ByteBuffer answer = ByteBuffer.wrap(reply);
        assertEquals(TcpProtocol.MAGIC, answer.getInt());
        answer.getShort();
        assertEquals(TcpProtocol.STATUS_BAD_VERSION, answer.getShort(), "a wrong version is told so, then closed");
        assertStillServesAndHoldsNoConnections();
    }

    @Test
    void randomHeadersAfterAGoodHandshakeNeverTouchMemoryOrWedgeTheServer() throws Exception {
        Random random = new Random(99);
        for (int round = 0; round < 200; round++) {
            try (Socket socket = connect()) {
                socket.getOutputStream().write(TcpProtocol.handshake("fuzzer").array());
                socket.getInputStream().readNBytes(TcpProtocol.HANDSHAKE_BYTES);
                byte[] header = new byte[TcpProtocol.REQUEST_HEADER_BYTES + random.nextInt(64)];
                random.nextBytes(header);
                if (round % 2 == 0) {
                    header[0] = TcpProtocol.OP_WRITE; // make some of them writes with random ranges
                }
                socket.getOutputStream().write(header);
                socket.getOutputStream().flush();
                drainUntilClosedOrQuiet(socket);
            }
        }
        assertStillServesAndHoldsNoConnections();
    }

    @Test
    void aConnectionFloodPastTheCapIsClosedAtOnceAndTheServerStillServes() throws Exception {
        restartWith(new TcpServerLimits(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMinutes(5), 8));
        List<Socket> flood = new ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) {
                flood.add(connect());
            }
            for (Socket late : flood.subList(8, 40)) {
                late.setSoTimeout(3000);
                assertEquals(-1, readOrReset(late), "a connection past the cap is closed at once");
            }
            assertEquals(32, server.refusedConnections());
            assertTrue(server.connectionCount() <= 8, "held: " + server.connectionCount());
        } finally {
            for (Socket socket : flood) {
                socket.close();
            }
        }
        assertStillServesAndHoldsNoConnections();
    }

    @Test
    void idleConnectionsAreClosed() throws Exception {
        restartWith(new TcpServerLimits(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMillis(300), 8));
        try (Socket idle = connect()) {
            idle.getOutputStream().write(TcpProtocol.handshake("idle").array());
            idle.getInputStream().readNBytes(TcpProtocol.HANDSHAKE_BYTES);
            idle.setSoTimeout(5000);
            assertEquals(-1, readOrReset(idle), "a connection that sends nothing is closed after the idle timeout");
        }
        assertStillServesAndHoldsNoConnections();
    }

    private void restartWith(TcpServerLimits limits) throws IOException {
        server.close(Duration.ofSeconds(1));
        server = new TcpTransferServer(memory, new InetSocketAddress("127.0.0.1", 0), limits, null);
    }

    private static int readOrReset(Socket socket) throws IOException {
        try {
            return socket.getInputStream().read();
        } catch (java.net.SocketException reset) {
            return -1;
        }
    }

    @Test
    void stalledPeersAreDisconnectedByTheWatchdog() throws Exception {
        try (Socket halfHello = connect();
                Socket halfFrame = connect()) {
            halfHello.getOutputStream().write(new byte[] {0x43, 0x52});
            halfFrame.getOutputStream().write(TcpProtocol.handshake("slow").array());
            halfFrame.getInputStream().readNBytes(TcpProtocol.HANDSHAKE_BYTES);
            halfFrame.getOutputStream().write(new byte[] {TcpProtocol.OP_READ, 0, 0});
            halfHello.setSoTimeout(5000);
            halfFrame.setSoTimeout(5000);
            assertEquals(-1, halfHello.getInputStream().read(), "no handshake in time: closed");
            assertEquals(-1, halfFrame.getInputStream().read(), "frame stalled: closed");
        }
        assertStillServesAndHoldsNoConnections();
    }

    private void assertStillServesAndHoldsNoConnections() throws Exception {
        RegisteredMemory clientMemory = new RegisteredMemory();
        try (TransferEngine client = new TransferEngine(
                clientMemory,
                List.of(new dev.crescent.transfer.tcp.TcpTransport("good-client", TcpSettings.defaults())),
                TransferObserver.NONE)) {
            byte[] back = new byte[SEGMENT_BYTES];
            client.execute(List.of(new TransferRequest(
                    TransferOp.READ,
                    java.lang.foreign.MemorySegment.ofArray(back),
                    "seg",
                    "tcp=127.0.0.1:" + server.port(),
                    0)));
            assertArrayEquals(canary, back, "no fuzzed request changed a byte");
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (server.connectionCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, server.connectionCount(), "no connection left wedged");
    }

    private void assertClosedAfter(byte[] bytes) throws IOException {
        try (Socket socket = connect()) {
            socket.setSoTimeout(3000);
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            drainUntilClosedOrQuiet(socket);
        }
    }

    private byte[] exchange(byte[] request, int replyBytes) throws IOException {
        try (Socket socket = connect()) {
            socket.setSoTimeout(3000);
            socket.getOutputStream().write(request);
            return socket.getInputStream().readNBytes(replyBytes);
        }
    }

    /** Reads until the server closes (expected) or the watchdog would have; a hang fails via the socket timeout. */
    private static void drainUntilClosedOrQuiet(Socket socket) throws IOException {
        socket.setSoTimeout(3000);
        InputStream in = socket.getInputStream();
        try {
            while (in.read() >= 0) {
                // Error answers are allowed; the stream must end.
            }
        } catch (java.net.SocketException reset) {
            // Closed with unread data on our side: also a close.
        }
    }

    private Socket connect() throws IOException {
        return new Socket("127.0.0.1", server.port());
    }
}
