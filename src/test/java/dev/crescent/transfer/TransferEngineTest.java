package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.testing.TcpRelay;
import dev.crescent.transfer.local.LocalTransport;
import dev.crescent.transfer.shm.ShmTransport;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransferServer;
import dev.crescent.transfer.tcp.TcpTransport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transfer engine against a target in a second JVM (tcp, shm) and in this one (local). */
class TransferEngineTest {
    private static final long TARGET_BYTES = 64L << 20;
    private static TargetProcess target;
    private static TransferEngine engine;

    @BeforeAll
    static void startTarget() throws IOException {
        target = TargetProcess.start("engine-test", TARGET_BYTES);
        engine = newEngine(fastSettings());
    }

    @AfterAll
    static void stopTarget() throws IOException {
        engine.close();
        target.close();
    }

    static TcpSettings fastSettings() {
        return new TcpSettings(
                3, 256 * 1024, Duration.ofSeconds(3), 3, 5, Duration.ofSeconds(10), Duration.ofSeconds(1));
    }

    static TransferEngine newEngine(TcpSettings settings) {
        RegisteredMemory memory = new RegisteredMemory();
        return new TransferEngine(
                memory,
                List.of(new LocalTransport(memory), new ShmTransport(), new TcpTransport("test-initiator", settings)),
                TransferObserver.NONE);
    }

    @Test
    void tcpWriteThenReadAcrossProcessesReturnsTheSameBytes() {
        String tcp = target.endpointFor("tcp");
        for (int size : new int[] {1, 4096, (1 << 20) + 7, 10 << 20}) {
            byte[] value = random(size, size);
            long offset = 1 << 20;
            engine.execute(List.of(write(value, tcp, offset)));
            byte[] back = new byte[size];
            engine.execute(List.of(read(back, tcp, offset)));
            assertArrayEquals(value, back, "size " + size);
        }
    }

    @Test
    void shmWritesLandInTheOtherProcessMemory() {
        byte[] value = random(3 << 20, 11);
        engine.execute(List.of(write(value, target.endpointFor("shm"), 20 << 20)));
        assertEquals(
                "shm",
                engine.transportFor(read(new byte[1], target.endpointFor("shm"), 0))
                        .name());
        byte[] overTcp = new byte[value.length];
        // Read back over TCP: served by the target process from its own mapping of the segment.
        engine.execute(List.of(read(overTcp, target.endpointFor("tcp"), 20 << 20)));
        assertArrayEquals(value, overTcp);
    }

    @Test
    void preferredTransportIsLocalThenShmThenTcp() {
        RegisteredMemory memory = engine.memory();
        memory.register("here", Arena.ofAuto().allocate(4096), "cpu:0");
        try {
            assertEquals(
                    "local",
                    engine.transportFor(read(new byte[8], "", 0, "here")).name());
            assertEquals(
                    "shm",
                    engine.transportFor(read(new byte[8], target.endpoint, 0)).name());
            assertEquals(
                    "tcp",
                    engine.transportFor(read(new byte[8], target.endpointFor("tcp"), 0))
                            .name());
            String otherHost = new PeerAddress(
                            "another-host",
                            PeerAddress.parse(target.endpoint).tcp(),
                            PeerAddress.parse(target.endpoint).shmFile())
                    .format();
            assertEquals(
                    "tcp",
                    engine.transportFor(read(new byte[8], otherHost, 0)).name(),
                    "shared memory of another host is not reachable");
        } finally {
            memory.unregister("here");
        }
    }

    @Test
    void localTransportCopiesWithinThisJvm() {
        MemorySegment segment = Arena.ofAuto().allocate(1 << 20);
        engine.memory().register("local-seg", segment, "cpu:0");
        try {
            byte[] value = random(5000, 3);
            engine.execute(List.of(write(value, "", 100, "local-seg")));
            byte[] back = new byte[5000];
            engine.execute(List.of(read(back, "", 100, "local-seg")));
            assertArrayEquals(value, back);
        } finally {
            engine.memory().unregister("local-seg");
        }
    }

    @Test
    void rangesOutsideTheRegisteredSegmentAreRefusedOnEveryTransport() {
        for (String endpoint : List.of(target.endpointFor("tcp"), target.endpointFor("shm"))) {
            StoreException beyond = assertThrows(
                    StoreException.class,
                    () -> engine.execute(List.of(write(new byte[4096], endpoint, TARGET_BYTES - 100))));
            assertEquals(ErrorCode.INVALID_PARAMS, beyond.code(), beyond.getMessage());
            StoreException negative =
                    assertThrows(StoreException.class, () -> engine.execute(List.of(read(new byte[16], endpoint, -8))));
            assertEquals(ErrorCode.INVALID_PARAMS, negative.code(), negative.getMessage());
        }
        StoreException unknown = assertThrows(
                StoreException.class,
                () -> engine.execute(List.of(read(new byte[16], target.endpointFor("tcp"), 0, "no-such-segment"))));
        assertEquals(ErrorCode.SEGMENT_NOT_FOUND, unknown.code());
        // The connections that carried the refused requests are still good.
        byte[] value = random(300_000, 4);
        engine.execute(List.of(write(value, target.endpointFor("tcp"), 0)));
        byte[] back = new byte[value.length];
        engine.execute(List.of(read(back, target.endpointFor("tcp"), 0)));
        assertArrayEquals(value, back);
    }

    @Test
    void refusedRequestKeepsTheSameConnectionUsable() throws Exception {
        RegisteredMemory memory = new RegisteredMemory();
        memory.register("seg", Arena.ofAuto().allocate(1 << 20), "cpu:0");
        try (TcpTransferServer server = new TcpTransferServer(
                        memory, new InetSocketAddress("127.0.0.1", 0), Duration.ofSeconds(5), Duration.ofSeconds(5));
                TransferEngine single = newEngine(new TcpSettings(
                        1, 1 << 20, Duration.ofSeconds(3), 1, 5, Duration.ofSeconds(10), Duration.ofSeconds(1)))) {
            String endpoint = "tcp=127.0.0.1:" + server.port();
            assertThrows(
                    StoreException.class,
                    () -> single.execute(List.of(write(new byte[1000], endpoint, (1 << 20) - 10, "seg"))));
            byte[] value = random(1000, 5);
            single.execute(List.of(write(value, endpoint, 0, "seg")));
            assertEquals(1, server.connectionCount(), "one connection carried both requests");
        }
    }

    @Test
    void aWaitingCallerMovesTheBytesItselfAndGetsCompletedFutures() {
        String tcp = target.endpointFor("tcp");
        byte[] value = random(3 << 20, 21);
        try (TcpTransport transport = new TcpTransport("runs-on-caller", fastSettings())) {
            List<CompletableFuture<Void>> written = transport.runAll(List.of(write(value, tcp, 40L << 20)));
            assertTrue(written.getFirst().isDone(), "the write was done on the calling thread");
            written.getFirst().join();
            byte[] back = new byte[value.length];
            List<CompletableFuture<Void>> read = transport.runAll(List.of(read(back, tcp, 40L << 20)));
            assertTrue(read.getFirst().isDone(), "the read was done on the calling thread");
            read.getFirst().join();
            assertArrayEquals(value, back);
            CompletableFuture<Void> refused = transport
                    .runAll(List.of(read(new byte[16], tcp, 0, "no-such-segment")))
                    .getFirst();
            CompletionException failure = assertThrows(CompletionException.class, refused::join);
            assertEquals(ErrorCode.SEGMENT_NOT_FOUND, ((StoreException) failure.getCause()).code());
        }
    }

    @Test
    @Timeout(10)
    void aWaitingCallerOnASilentPeerTimesOutWithinTheDeadline() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofPlatform().daemon().start(() -> acceptAndHandshakeOnly(silent));
            try (TransferEngine quick = newEngine(new TcpSettings(
                    1, 1 << 20, Duration.ofMillis(800), 1, 5, Duration.ofSeconds(10), Duration.ofSeconds(1)))) {
                long started = System.nanoTime();
                StoreException timeout = assertThrows(
                        StoreException.class,
                        () -> quick.execute(
                                List.of(read(new byte[4096], "tcp=127.0.0.1:" + silent.getLocalPort(), 0, "seg"))));
                assertEquals(ErrorCode.RPC_TIMEOUT, timeout.code());
                assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(3), "timed out promptly");
                assertEquals(0, quick.inFlight());
            }
            acceptor.interrupt();
        }
    }

    @Test
    void pooledConnectionsLostToAPeerRestartAreReplacedByTheFirstRetry() throws Exception {
        RegisteredMemory memory = new RegisteredMemory();
        memory.register("seg", Arena.ofAuto().allocate(64 << 20), "cpu:0");
        int callers = 4;
        // Two attempts: a retry that met a second stale connection would fail the read.
        try (TransferEngine client = newEngine(new TcpSettings(
                        1, 1 << 20, Duration.ofSeconds(5), 2, 5, Duration.ofSeconds(10), Duration.ofSeconds(1)));
                TcpTransferServer server = new TcpTransferServer(
                        memory, new InetSocketAddress("127.0.0.1", 0), Duration.ofSeconds(5), Duration.ofSeconds(5));
                TcpRelay restarts = new TcpRelay(server.port())) {
            String endpoint = "tcp=127.0.0.1:" + restarts.port();
            CyclicBarrier together = new CyclicBarrier(callers);
            List<Thread> writers = new ArrayList<>();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int c = 0; c < callers; c++) {
                long offset = (long) c << 24;
                writers.add(Thread.ofPlatform().start(() -> {
                    try {
                        together.await();
                        client.execute(List.of(write(random(8 << 20, offset), endpoint, offset, "seg")));
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            for (Thread w : writers) {
                w.join();
            }
            assertEquals(List.of(), errors);
            int pooled = restarts.accepted();
            assertTrue(pooled >= 2, "concurrent callers left several pooled connections");
            restarts.dropConnections();
            byte[] back = new byte[8 << 20];
            client.execute(List.of(read(back, endpoint, 0, "seg")));
            assertArrayEquals(random(8 << 20, 0), back);
            assertEquals(pooled + 1, restarts.accepted(), "the retry opened one new connection");
        }
    }

    @Test
    void batchReportsPerRequestStatusAndBytes() {
        String tcp = target.endpointFor("tcp");
        List<TransferRequest> requests = List.of(
                write(random(1000, 6), tcp, 0),
                write(random(2000, 7), tcp, TARGET_BYTES + 10),
                write(random(3000, 8), "tcp=127.0.0.1:1", 0),
                write(random(10, 9), "", 0, "unreachable"));
        TransferBatch batch = engine.submit(requests);
        batch.future().join();
        assertEquals(RequestStatus.COMPLETED, batch.status(0));
        assertEquals(1000, batch.bytesTransferred(0));
        assertEquals(RequestStatus.FAILED, batch.status(1));
        assertEquals(0, batch.bytesTransferred(1));
        assertEquals(RequestStatus.FAILED, batch.status(2));
        assertEquals(RequestStatus.FAILED, batch.status(3));
        assertNotNull(batch.failure(3));
        batch.free();
    }

    @Test
    void silentPeerTimesOutAndABatchCannotBeFreedWhilePending() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofPlatform().daemon().start(() -> acceptAndHandshakeOnly(silent));
            try (TransferEngine quick = newEngine(new TcpSettings(
                    1, 1 << 20, Duration.ofMillis(800), 1, 5, Duration.ofSeconds(10), Duration.ofSeconds(1)))) {
                long started = System.nanoTime();
                TransferBatch batch =
                        quick.submit(List.of(read(new byte[4096], "tcp=127.0.0.1:" + silent.getLocalPort(), 0, "seg")));
                assertEquals(RequestStatus.PENDING, batch.status(0));
                StoreException busy = assertThrows(StoreException.class, batch::free);
                assertEquals(ErrorCode.INVALID_PARAMS, busy.code());
                batch.future().get(5, TimeUnit.SECONDS);
                assertEquals(RequestStatus.TIMEOUT, batch.status(0));
                assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(3), "timed out promptly");
                batch.free();
            }
            acceptor.interrupt();
        }
    }

    @Test
    void killedPeerFailsPendingRequestsInsteadOfHangingThenIsBlacklisted() throws Exception {
        TargetProcess doomed = TargetProcess.start("doomed", 32L << 20);
        try (TransferEngine local = newEngine(new TcpSettings(
                2, 64 * 1024, Duration.ofSeconds(5), 3, 3, Duration.ofSeconds(10), Duration.ofSeconds(30)))) {
            String tcp = doomed.endpointFor("tcp");
            String seg = doomed.segment;
            local.execute(List.of(write(random(1 << 20, 10), tcp, 0, seg)));
            List<TransferRequest> many = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                many.add(write(random(512 * 1024, i), tcp, (long) (i % 32) << 20, seg));
            }
            TransferBatch batch = local.submit(many);
            doomed.kill();
            // Every request reaches a final status well within the timeout: get() throws if any hangs.
            batch.future().get(10, TimeUnit.SECONDS);
            long started = System.nanoTime();
            StoreException fast =
                    assertThrows(StoreException.class, () -> local.execute(List.of(read(new byte[100], tcp, 0, seg))));
            assertEquals(ErrorCode.TRANSFER_FAIL, fast.code());
            assertTrue(fast.getMessage().contains("blacklisted"), fast.getMessage());
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(1), "blacklisted peers fail at once");
        } finally {
            doomed.close();
        }
    }

    @Test
    void blacklistedPeerRecoversAfterTheCooldown() throws Exception {
        RegisteredMemory memory = new RegisteredMemory();
        memory.register("seg", Arena.ofAuto().allocate(1 << 20), "cpu:0");
        int port;
        try (ServerSocket probe = new ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        String endpoint = "tcp=127.0.0.1:" + port;
        try (TransferEngine client = newEngine(new TcpSettings(
                1, 1 << 20, Duration.ofSeconds(2), 1, 2, Duration.ofSeconds(10), Duration.ofMillis(700)))) {
            for (int i = 0; i < 2; i++) {
                assertThrows(
                        StoreException.class, () -> client.execute(List.of(write(new byte[10], endpoint, 0, "seg"))));
            }
            StoreException blacklisted = assertThrows(
                    StoreException.class, () -> client.execute(List.of(write(new byte[10], endpoint, 0, "seg"))));
            assertTrue(blacklisted.getMessage().contains("blacklisted"), blacklisted.getMessage());
            try (TcpTransferServer server = new TcpTransferServer(
                    memory, new InetSocketAddress("127.0.0.1", port), Duration.ofSeconds(5), Duration.ofSeconds(5))) {
                Thread.sleep(800);
                client.execute(List.of(write(random(10, 1), endpoint, 0, "seg")));
            }
        }
    }

    @Test
    void gracefulCloseDrainsInFlightTransfersAndCancelsNewOnes() throws Exception {
        TransferEngine closing = newEngine(fastSettings());
        List<TransferRequest> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            requests.add(write(random(1 << 20, 100 + i), target.endpointFor("tcp"), (long) i << 20));
        }
        TransferBatch batch = closing.submit(requests);
        closing.close(Duration.ofSeconds(10));
        assertTrue(batch.future().isDone(), "close waited for the batch");
        assertTrue(batch.allCompleted(), "in-flight transfers finished before the connections closed");
        TransferBatch late = closing.submit(List.of(write(new byte[10], target.endpointFor("tcp"), 0)));
        assertEquals(RequestStatus.CANCELED, late.status(0));
    }

    /**
     * One batch of many requests is written to each connection in gathering writes: more buffers than one system
     * call takes (700 small writes: 1400 buffers), slices of large requests spread over connections among them.
     */
    @Test
    void aBatchOfManySmallAndSomeLargeRequestsKeepsEveryByteInPlace() {
        String tcp = target.endpointFor("tcp");
        List<byte[]> values = new ArrayList<>();
        List<TransferRequest> writes = new ArrayList<>();
        long offset = 48L << 20;
        for (int i = 0; i < 705; i++) {
            int size = i % 141 == 0 ? 600_000 + i : 1 + (i * 37) % 5000;
            byte[] value = random(size, 1000 + i);
            values.add(value);
            writes.add(write(value, tcp, offset));
            offset += size;
        }
        TransferBatch written = engine.submit(writes);
        written.future().join();
        List<byte[]> backs = new ArrayList<>();
        List<TransferRequest> reads = new ArrayList<>();
        offset = 48L << 20;
        for (int i = 0; i < values.size(); i++) {
            assertEquals(RequestStatus.COMPLETED, written.status(i), "write " + i);
            byte[] back = new byte[values.get(i).length];
            backs.add(back);
            reads.add(read(back, tcp, offset));
            offset += back.length;
        }
        engine.execute(reads);
        for (int i = 0; i < values.size(); i++) {
            assertArrayEquals(values.get(i), backs.get(i), "request " + i);
        }
        written.free();
    }

    @Test
    void concurrentTransfersFromManyThreadsKeepEveryByteInPlace() throws Exception {
        String tcp = target.endpointFor("tcp");
        int threads = 8;
        List<Thread> workers = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int round = 0; round < 20; round++) {
                        byte[] value = random(200_000 + id * 1000, id * 100 + round);
                        long offset = (30L << 20) + (long) id * (1 << 20);
                        engine.execute(List.of(write(value, tcp, offset)));
                        byte[] back = new byte[value.length];
                        engine.execute(List.of(read(back, tcp, offset)));
                        assertArrayEquals(value, back);
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        assertEquals(List.of(), errors);
    }

    private static void acceptAndHandshakeOnly(ServerSocket server) {
        try (Socket socket = server.accept()) {
            byte[] hello = new byte[16];
            socket.getInputStream().readNBytes(hello, 0, 16);
            int nameLength = ((hello[6] & 0xff) << 8) | (hello[7] & 0xff);
            socket.getInputStream().readNBytes(nameLength);
            socket.getOutputStream()
                    .write(dev.crescent.transfer.tcp.TcpProtocol.handshakeReply(
                                    dev.crescent.transfer.tcp.TcpProtocol.STATUS_OK)
                            .array());
            Thread.sleep(30_000);
        } catch (IOException | InterruptedException ignored) {
            // Test ended.
        }
    }

    private static TransferRequest write(byte[] value, String endpoint, long offset) {
        return write(value, endpoint, offset, target.segment);
    }

    private static TransferRequest write(byte[] value, String endpoint, long offset, String segment) {
        return new TransferRequest(TransferOp.WRITE, MemorySegment.ofArray(value), segment, endpoint, offset);
    }

    private static TransferRequest read(byte[] into, String endpoint, long offset) {
        return read(into, endpoint, offset, target.segment);
    }

    private static TransferRequest read(byte[] into, String endpoint, long offset, String segment) {
        return new TransferRequest(TransferOp.READ, MemorySegment.ofArray(into), segment, endpoint, offset);
    }

    static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
