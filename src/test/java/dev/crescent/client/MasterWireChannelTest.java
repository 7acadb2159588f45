package dev.crescent.client;

import com.google.protobuf.ByteString;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.ExistResponse;
import dev.crescent.protocol.proto.GetReplicaListRequest;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.PutStartRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How the wire client reacts to peers that do not behave: each on a real socket on 127.0.0.1. */
// In a thread of its own: a blocked socket read does not answer an interrupt, and a deadline not kept would hang.
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MasterWireChannelTest {
    private static final KeyRequest REQUEST =
            KeyRequest.newBuilder().setKey("k").build();
    private static final BatchKeysRequest BATCH =
            BatchKeysRequest.newBuilder().addKeys("k").build();

    @Test
    void aMasterThatAnnouncesNoPortIsRefusedSoTheClientCanFallBack() throws Exception {
        try (Peer peer = new Peer(404, socket -> {});
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            assertThrows(
                    MasterWireChannel.Refused.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5)));
        }
    }

    @Test
    void aSilentMasterTimesOutWithinTheDeadline() throws Exception {
        try (Peer peer = new Peer(200, socket -> {});
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            long started = System.nanoTime();
            StoreException e = assertThrows(
                    StoreException.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofMillis(300)));
            long tookMillis = (System.nanoTime() - started) / 1_000_000;
            assertEquals(ErrorCode.RPC_TIMEOUT, e.code());
            assertTrue(tookMillis >= 250 && tookMillis < 5_000, "timed out after " + tookMillis + " ms");
        }
    }

    /**
     * The first wire connection never answers; the second answers. The call that overran must not leave its
     * connection for the next call (whose answer would be the late one), and its deadline must not cut the next.
     */
    @Test
    void aCallThatOverranLeavesItsConnectionAndTheNextAnswersOnAFreshOne() throws Exception {
        AtomicInteger connections = new AtomicInteger();
        try (Peer peer = new Peer(200, socket -> {
                    if (connections.incrementAndGet() > 1) {
                        answerExists(socket);
                    }
                });
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            StoreException e = assertThrows(
                    StoreException.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofMillis(300)));
            assertEquals(ErrorCode.RPC_TIMEOUT, e.code());
            ExistResponse answer = channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5));
            assertTrue(answer.getExists());
            assertEquals(2, connections.get());
        }
    }

    /** Reads the hello and one request, waits past the first call's deadline, and answers it: exists. */
    private static void answerExists(Socket socket) {
        try {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            in.readFully(new byte[in.readInt()]); // the node name
            byte[] request = new byte[in.readInt()];
            in.readFully(request);
            int callId = ByteBuffer.wrap(request, 1, 4).getInt();
            Thread.sleep(500);
            byte[] payload = ExistResponse.newBuilder().setExists(true).build().toByteArray();
            socket.getOutputStream().write(answerFrame(callId, payload));
        } catch (IOException | InterruptedException ignored) {
            // the test fails on the client side if this goes wrong
        }
    }

    /**
     * Answers of every size arrive whole, whether read into the connection's kept buffer or an array of their own:
     * within one read, past the buffer a connection starts with (128 KiB), past the largest it keeps (1 MiB), and
     * when the master writes an answer in two pieces. The peer answers each GetReplicaList with a value of the size
     * its key names.
     */
    @Test
    void answersOfEverySizeArriveWholeInTheKeptBufferOrTheirOwn() throws Exception {
        try (Peer peer = new Peer(200, MasterWireChannelTest::answerValuesOfTheAskedSize);
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            for (int size : new int[] {0, 1, 4096, 100_000, 200_000, 1_500_000, 3}) {
                GetReplicaListRequest request = GetReplicaListRequest.newBuilder()
                        .setKey(Integer.toString(size))
                        .build();
                GetReplicaListResponse own =
                        channel.call(MasterServiceGrpc.getGetReplicaListMethod(), request, Duration.ofSeconds(5));
                assertEquals(valueOf(size), own.getValue(), "own array, " + size + " bytes");
                ByteString kept = channel.callWithin(
                        MasterServiceGrpc.getGetReplicaListMethod(),
                        request,
                        Duration.ofSeconds(5),
                        0,
                        (answer, value) -> ByteString.copyFrom(answer.getValue().toByteArray()));
                assertEquals(valueOf(size), kept, "kept buffer, " + size + " bytes");
                channel.callWithin(
                        MasterServiceGrpc.getGetReplicaListMethod(),
                        request,
                        Duration.ofSeconds(5),
                        GetReplicaListResponse.VALUE_FIELD_NUMBER,
                        (answer, value) -> {
                            assertEquals(size, answer.getSize(), "the rest of the answer, " + size + " bytes");
                            if (size == 0 || size > 1 << 20) { // nothing to split, or not read into the kept buffer
                                assertNull(value, size + " bytes");
                                assertEquals(valueOf(size), answer.getValue(), "whole, " + size + " bytes");
                            } else {
                                assertTrue(answer.getValue().isEmpty(), "split, " + size + " bytes");
                                assertTrue(value.isNative(), "left where the socket put it, " + size + " bytes");
                                assertEquals(valueOf(size), ByteString.copyFrom(value.asByteBuffer()));
                            }
                            return null;
                        });
            }
        }
    }

    /**
     * An answer taken within its connection's buffers is parsed where it lies: protobuf copies a direct buffer whole
     * into a fresh array before parsing it, which for a batch of small objects (half a megabyte per answer) was a
     * humongous array per call, and the client's GC pauses.
     */
    @Test
    void anAnswerTakenWithinIsNotCopiedIntoAFreshArray() throws Exception {
        int size = 500_000;
        GetReplicaListRequest request = GetReplicaListRequest.newBuilder()
                .setKey(Integer.toString(size))
                .build();
        byte last = valueOf(size).byteAt(size - 1);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Peer peer = new Peer(200, MasterWireChannelTest::answerValuesOfTheAskedSize);
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            BiFunction<GetReplicaListResponse, MemorySegment, Byte> take =
                    (answer, value) -> answer.getValue().byteAt(size - 1);
            Duration deadline = Duration.ofSeconds(5);
            channel.callWithin(
                    MasterServiceGrpc.getGetReplicaListMethod(), request, deadline, 0, take); // grows buffers
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 4; i++) {
                assertEquals(
                        last,
                        channel.callWithin(MasterServiceGrpc.getGetReplicaListMethod(), request, deadline, 0, take));
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(allocated < size, "4 answers of " + size + " bytes allocated " + allocated + " bytes");
        }
    }

    private static ByteString valueOf(int size) {
        byte[] value = new byte[size];
        for (int i = 0; i < size; i++) {
            value[i] = (byte) (i * 31 + size);
        }
        return ByteString.copyFrom(value);
    }

    /** Reads the hello, then answers each request with a value of the size its key names, in two writes. */
    private static void answerValuesOfTheAskedSize(Socket socket) {
        serveRequests(socket, (request, callId, out) -> {
            String key = GetReplicaListRequest.parseFrom(ByteBuffer.wrap(
                            request, MasterWire.REQUEST_HEADER, request.length - MasterWire.REQUEST_HEADER))
                    .getKey();
            int size = Integer.parseInt(key);
            byte[] payload = GetReplicaListResponse.newBuilder()
                    .setSize(size)
                    .setValue(valueOf(size))
                    .build()
                    .toByteArray();
            byte[] frame = answerFrame(callId, payload);
            int half = frame.length / 2;
            out.write(frame, 0, half);
            out.flush();
            Thread.sleep(5);
            out.write(frame, half, frame.length - half);
        });
    }

    /**
     * A request larger than the socket's buffers, from a virtual thread (whose socket is non-blocking underneath, so
     * a gathered write may send part of it), reaches the master whole while the master is slow to read it.
     */
    @Test
    void aLargeRequestFromAVirtualThreadArrivesWholeWhenTheMasterReadsSlowly() throws Exception {
        int valueBytes = 8 << 20;
        AtomicInteger received = new AtomicInteger(-1);
        try (Peer peer = new Peer(200, socket -> {
                    try {
                        DataInputStream in = new DataInputStream(socket.getInputStream());
                        in.readFully(new byte[in.readInt()]); // the node name
                        byte[] request = new byte[in.readInt()];
                        Thread.sleep(300); // the client's socket buffer fills meanwhile
                        in.readFully(request);
                        received.set(request.length);
                        int callId = ByteBuffer.wrap(request, 1, 4).getInt();
                        socket.getOutputStream().write(answerFrame(callId, new byte[0]));
                    } catch (IOException | InterruptedException ignored) {
                        // the test fails on the client side if this goes wrong
                    }
                });
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            PutStartRequest request =
                    PutStartRequest.newBuilder().setKey("k").setSize(valueBytes).build();
            TrailingBytes value = new TrailingBytes(
                    PutStartRequest.VALUE_FIELD_NUMBER, List.of(MemorySegment.ofArray(new byte[valueBytes])));
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread.ofVirtual()
                    .start(() -> {
                        try {
                            channel.call(MasterServiceGrpc.getPutStartMethod(), request, value, Duration.ofSeconds(10));
                        } catch (Throwable e) {
                            failure.set(e);
                        }
                    })
                    .join();
            assertNull(failure.get());
            assertEquals(MasterWire.REQUEST_HEADER + request.getSerializedSize() + value.encodedSize(), received.get());
        }
    }

    @Test
    void aConnectionClosedMidCallIsAnRpcFailure() throws Exception {
        try (Peer peer = new Peer(200, socket -> {
                    try {
                        socket.getInputStream()
                                .read(new byte[16]); // the hello and request arrive, then the master goes away
                        socket.close();
                    } catch (IOException ignored) {
                        // the test fails on the client side if this goes wrong
                    }
                });
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            StoreException e = assertThrows(
                    StoreException.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5)));
            assertEquals(ErrorCode.RPC_FAIL, e.code());
        }
    }

    @Test
    void nobodyListeningIsAnRpcFailure() throws Exception {
        String address;
        try (ServerSocket closed = new ServerSocket(0)) {
            address = "127.0.0.1:" + closed.getLocalPort();
        }
        try (MasterWireChannel channel = new MasterWireChannel(address, "n", null)) {
            StoreException e = assertThrows(
                    StoreException.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5)));
            assertEquals(ErrorCode.RPC_FAIL, e.code());
        }
    }

    /**
     * Batched reads go to the listener the master announces for batched calls, single calls and batched puts to the
     * other; a master that
     * announces only one port (it predates the batch listener) gets both there.
     */
    @Test
    void batchedCallsGoToTheAnnouncedBatchListener() throws Exception {
        List<Integer> single = new CopyOnWriteArrayList<>();
        List<Integer> batched = new CopyOnWriteArrayList<>();
        try (Peer batchPeer = new Peer(-1, socket -> answerEmpty(socket, batched));
                Peer peer = new Peer(200, socket -> answerEmpty(socket, single), batchPeer.port());
                MasterWireChannel channel = new MasterWireChannel(peer.address(), "n", null)) {
            channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5));
            channel.call(MasterServiceGrpc.getBatchExistMethod(), BATCH, Duration.ofSeconds(5));
            channel.call(MasterServiceGrpc.getBatchGetReplicaListMethod(), BATCH, Duration.ofSeconds(5));
            channel.call(MasterServiceGrpc.getBatchPutEndMethod(), BATCH, Duration.ofSeconds(5));
            assertEquals(
                    List.of(
                            MasterWire.id(MasterServiceGrpc.getExistMethod()),
                            MasterWire.id(MasterServiceGrpc.getBatchPutEndMethod())),
                    single);
            assertEquals(
                    List.of(
                            MasterWire.id(MasterServiceGrpc.getBatchExistMethod()),
                            MasterWire.id(MasterServiceGrpc.getBatchGetReplicaListMethod())),
                    batched);
        }
        single.clear();
        try (Peer older = new Peer(200, socket -> answerEmpty(socket, single));
                MasterWireChannel channel = new MasterWireChannel(older.address(), "n", null)) {
            channel.call(MasterServiceGrpc.getBatchExistMethod(), BATCH, Duration.ofSeconds(5));
            assertEquals(List.of(MasterWire.id(MasterServiceGrpc.getBatchExistMethod())), single);
        }
    }

    /** A successful answer's frame: length, call id, code 0, {@code payload}. */
    private static byte[] answerFrame(int callId, byte[] payload) {
        return ByteBuffer.allocate(4 + MasterWire.RESPONSE_HEADER + payload.length)
                .putInt(MasterWire.RESPONSE_HEADER + payload.length)
                .putInt(callId)
                .putInt(0)
                .put(payload)
                .array();
    }

    /** Reads the hello, then answers every request with an empty message (code 0), noting its method. */
    private static void answerEmpty(Socket socket, List<Integer> methods) {
        Thread.ofPlatform()
                .daemon()
                .start(() -> serveRequests(socket, (request, callId, out) -> {
                    methods.add(request[0] & 0xFF);
                    out.write(answerFrame(callId, new byte[0]));
                }));
    }

    /** What a fake master does with one request frame (method id, call id, message) and its call id. */
    private interface RequestAnswer {
        void answer(byte[] request, int callId, OutputStream out) throws IOException, InterruptedException;
    }

    /** Reads the hello, then hands each request frame to {@code answer} until the connection closes. */
    private static void serveRequests(Socket socket, RequestAnswer answer) {
        try {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            in.readFully(new byte[in.readInt()]); // the node name
            while (true) {
                byte[] request = new byte[in.readInt()];
                in.readFully(request);
                answer.answer(request, ByteBuffer.wrap(request, 1, 4).getInt(), socket.getOutputStream());
            }
        } catch (IOException | InterruptedException ignored) {
            // the connection closed; the test fails on the client side if anything else goes wrong
        }
    }

    /**
     * A master on 127.0.0.1: the first connection is the port question, answered with {@code status} (200 announces
     * this same listener as the wire port); later connections are wire connections, treated as told and kept open
     * until closed.
     */
    private static final class Peer implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0);
        private final Thread thread;
        private final List<Socket> accepted = new CopyOnWriteArrayList<>();

        Peer(int status, Consumer<Socket> wire) throws IOException {
            this(status, wire, -1);
        }

        /**
         * @param status what the port question is answered with; negative: no question is asked of this peer, every
         *               connection is a wire connection
         * @param batchPort the port announced for batched calls; none when negative
         */
        Peer(int status, Consumer<Socket> wire, int batchPort) throws IOException {
            thread = Thread.ofPlatform().daemon().start(() -> {
                try {
                    if (status >= 0) {
                        Socket http = server.accept();
                        accepted.add(http);
                        answer(
                                http,
                                status == 200
                                        ? "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"port\":"
                                                + server.getLocalPort()
                                                + (batchPort < 0 ? "" : ",\"batch-port\":" + batchPort) + "}"
                                        : "HTTP/1.1 " + status + " Not Found\r\ncontent-length: 0\r\n\r\n");
                        http.close();
                    }
                    while (true) {
                        Socket socket = server.accept();
                        accepted.add(socket);
                        wire.accept(socket);
                    }
                } catch (IOException ignored) {
                    // closed by the test
                }
            });
        }

        String address() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            server.close();
            for (Socket socket : accepted) {
                socket.close();
            }
            thread.join(5000);
        }

        /** Reads the request's head, then writes {@code response}. */
        private static void answer(Socket socket, String response) throws IOException {
            InputStream in = socket.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return;
                }
                head.append((char) b);
            }
            socket.getOutputStream().write(response.getBytes(StandardCharsets.ISO_8859_1));
        }
    }
}
