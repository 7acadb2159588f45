package dev.crescent.api.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.StringValue;
import dev.crescent.api.MasterCalls;
import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.BatchExistResponse;
import dev.crescent.protocol.proto.BatchGetReplicaListItem;
import dev.crescent.protocol.proto.BatchGetReplicaListResponse;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.ExistResponse;
import dev.crescent.protocol.proto.GetReplicaListRequest;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.PutStartRequest;
import dev.crescent.protocol.proto.PutStartResponse;
import dev.crescent.protocol.proto.RemoveRequest;
import dev.crescent.transfer.HostId;
import dev.crescent.transfer.shm.Futex;
import dev.crescent.transfer.shm.RequestRing;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The master wire protocol byte by byte on a raw socket: announced port, hello, frames, malformed peers. */
@QuarkusTest
class MasterWireProtocolTest {
    @TestHTTPResource("/")
    URL service;

    @Inject
    MasterWireRoute route;

    /** One answer frame. */
    record Answer(int callId, int code, byte[] payload) {
        String message() {
            return new String(payload, StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aWireConnectionCarriesFramedCallsAndSurvivesBadRequests(String listener) throws IOException {
        try (Socket socket = connected(listener)) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            int exist = MasterWire.id(MasterServiceGrpc.getExistMethod());

            send(
                    out,
                    exist,
                    7,
                    KeyRequest.newBuilder().setKey("wire/absent").build().toByteArray());
            Answer answer = read(in);
            assertEquals(7, answer.callId());
            assertEquals(0, answer.code());
            assertFalse(ExistResponse.parseFrom(answer.payload()).getExists());

            send(out, 250, 8, new byte[0]);
            answer = read(in);
            assertEquals(8, answer.callId());
            assertEquals(ErrorCode.INVALID_PARAMS.number(), answer.code());
            assertTrue(answer.message().contains("unknown master wire method"), answer.message());

            send(out, exist, 9, new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
            answer = read(in);
            assertEquals(ErrorCode.INVALID_PARAMS.number(), answer.code(), answer.message());

            send(out, exist, 10, KeyRequest.newBuilder().setKey("").build().toByteArray());
            answer = read(in);
            assertEquals(ErrorCode.INVALID_KEY.number(), answer.code(), "the master's own codes travel unchanged");

            send(
                    out,
                    exist,
                    11,
                    KeyRequest.newBuilder().setKey("wire/absent").build().toByteArray());
            assertEquals(0, read(in).code(), "the connection still serves after refused requests");
        }
    }

    /**
     * Single calls are spread over as many event loops as batched ones (one per core, at least two): on one loop a
     * 64 KiB put's 27 us capped a master near 33k puts a second, below Redis's one thread on the same host.
     * {@code WireListenersTest} shows that each listener serves its connections on a loop of its own.
     */
    @Test
    void singleCallsAreServedOnSeveralEventLoops() {
        assertEquals(MasterWireRoute.loops(0), route.singleCallLoops());
        assertTrue(route.singleCallLoops() >= 2, "loops: " + route.singleCallLoops());
    }

    /** A Java client prefers the direct listener while it has room: its pooled connection is served there. */
    @Test
    void aClientCallsThroughTheDirectListenerWhileItHasRoom() {
        int before = route.directServing();
        assumeTrue(before < 8, "the suite's other callers hold every direct slot");
        try (CrescentClient client =
                CrescentClient.connect(ClientOptions.master(service.getHost() + ":" + service.getPort())
                        .withNodeName("direct"))) {
            assertFalse(client.exists("wire/direct"));
            assertEquals(before + 1, route.directServing(), "its connection is the direct listener's");
        }
    }

    /**
     * The direct listener serves each connection with a thread, up to {@code crescent.master.wire-threads} (8 in
     * tests); past that its first byte says it is full and it closes, so a flood of connections costs at most that
     * many threads, and a client that meets it calls through the event loops instead. A slot frees when its
     * connection closes.
     */
    @Test
    void aFullDirectListenerSendsCallersToTheEventLoops() throws Exception {
        int most = 8;
        List<Socket> served = new ArrayList<>();
        try {
            Socket full = null;
            while (full == null && served.size() <= most) {
                Socket socket = new Socket(service.getHost(), wirePort("direct-port"));
                socket.setSoTimeout(10_000);
                int first = socket.getInputStream().read();
                if (first == MasterWire.DIRECT_FULL) {
                    full = socket;
                } else {
                    assertEquals(MasterWire.DIRECT_SERVED, first);
                    served.add(socket);
                }
            }
            assertTrue(full != null, "no more than " + most + " served at once");
            assertEquals(-1, full.getInputStream().read(), "a connection it has no room for is closed");
            full.close();
            assertEquals(most, route.directServing());

            byte[] value = randomBytes(70_000, 3);
            try (CrescentClient client =
                    CrescentClient.connect(ClientOptions.master(service.getHost() + ":" + service.getPort())
                            .withNodeName("overflow"))) {
                client.put("wire/overflow", value);
                assertArrayEquals(value, client.get("wire/overflow"));
                client.remove("wire/overflow", true);
            }
            assertEquals(most, route.directServing(), "the client's calls went to the event loops");

            served.removeLast().close();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            int first = MasterWire.DIRECT_FULL;
            while (first == MasterWire.DIRECT_FULL && System.nanoTime() < until) {
                Socket socket = new Socket(service.getHost(), wirePort("direct-port"));
                socket.setSoTimeout(10_000);
                first = socket.getInputStream().read();
                if (first == MasterWire.DIRECT_SERVED) {
                    served.add(socket);
                } else {
                    socket.close();
                    Thread.sleep(50);
                }
            }
            assertEquals(MasterWire.DIRECT_SERVED, first, "a closed connection's slot serves the next");
        } finally {
            for (Socket socket : served) {
                socket.close();
            }
        }
    }

    /**
     * Batched calls have a listener of their own (spread over several event loops), announced beside the one for
     * single calls; it speaks the same protocol, and either carries any call.
     */
    @Test
    void theBatchListenerIsAnnouncedAndServesCalls() throws IOException {
        int batchPort = given().get(MasterWire.PATH)
                .then()
                .statusCode(200)
                .extract()
                .jsonPath()
                .getInt("batch-port");
        assertTrue(batchPort > 0 && batchPort != announcedPort() && batchPort != service.getPort(), "" + batchPort);
        try (Socket socket = new Socket(service.getHost(), batchPort)) {
            socket.setSoTimeout(10_000);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.writeInt(0); // the hello: no node name
            send(
                    out,
                    MasterWire.id(MasterServiceGrpc.getBatchExistMethod()),
                    3,
                    BatchKeysRequest.newBuilder()
                            .addKeys("wire/batch-absent")
                            .build()
                            .toByteArray());
            DataInputStream in = new DataInputStream(socket.getInputStream());
            Answer answer = read(in);
            assertEquals(3, answer.callId());
            assertEquals(0, answer.code(), answer.message());
            assertEquals(1, BatchExistResponse.parseFrom(answer.payload()).getExistsCount());
            send(
                    out,
                    MasterWire.id(MasterServiceGrpc.getExistMethod()),
                    4,
                    KeyRequest.newBuilder().setKey("wire/absent").build().toByteArray());
            assertEquals(0, read(in).code());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aPutsValueLandsWhereverItsFieldLiesAndAWrongSizeLosesNothing(String listener) throws IOException {
        // The direct listener leaves a put's value where it was read when the value is the message's last field
        // (as clients send it) and parses only the rest: whatever the layout, the object must be exactly the value
        // protobuf reads (the last one, when the field comes twice), and a value of the wrong size must be refused
        // with nothing stored lost.
        byte[] first = new byte[5000];
        byte[] second = new byte[7000];
        new Random(1).nextBytes(first);
        new Random(2).nextBytes(second);
        int put = MasterWire.id(MasterServiceGrpc.getPutStartMethod());
        PutStartRequest notLast = PutStartRequest.newBuilder()
                .setClientId("wire-test")
                .setKey("wire/layout/not-last")
                .setSize(first.length)
                .setUpsert(true)
                .setValue(ByteString.copyFrom(first))
                .setWriterHost("no-such-host") // a field after the value: protobuf writes fields in number order
                .build();
        // the value field twice, the last one the size the request says: protobuf takes the last
        byte[] twice = concat(
                PutStartRequest.newBuilder()
                        .setClientId("wire-test")
                        .setKey("wire/layout/twice")
                        .setSize(first.length)
                        .setUpsert(true)
                        .setValue(ByteString.copyFrom(second))
                        .build()
                        .toByteArray(),
                valueField(first));
        try (Socket socket = connected(listener)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            Map<String, byte[]> stored = new LinkedHashMap<>();
            send(out, put, 1, notLast.toByteArray());
            stored.put("wire/layout/not-last", first);
            // the value field twice, the last one not the size the request says: refused
            send(out, put, 2, concat(putWithBytes("wire/layout/twice", first), valueField(second)));
            send(out, put, 3, twice);
            stored.put("wire/layout/twice", first);
            for (int call = 1; call <= 3; call++) {
                Answer answer = read(in);
                assertEquals(call, answer.callId());
                if (call == 2) {
                    assertEquals(ErrorCode.INVALID_PARAMS.number(), answer.code(), answer.message());
                } else {
                    assertEquals(0, answer.code(), answer.message());
                    assertTrue(PutStartResponse.parseFrom(answer.payload()).getCommitted());
                }
            }
            // a refused put of an existing key leaves the object as it was
            send(out, put, 4, concat(putWithBytes("wire/layout/not-last", first), valueField(new byte[1])));
            assertEquals(ErrorCode.INVALID_PARAMS.number(), read(in).code());
            int call = 5;
            for (Map.Entry<String, byte[]> object : stored.entrySet()) {
                send(
                        out,
                        MasterWire.id(MasterServiceGrpc.getGetReplicaListMethod()),
                        call,
                        getAsBytes(object.getKey(), object.getValue().length));
                Answer got = read(in);
                assertEquals(0, got.code(), got.message());
                assertArrayEquals(object.getValue(), valueOf(got), object.getKey());
                call++;
            }
        }
    }

    /** A PutStartRequest's value field on its own, as it is appended to a message. */
    static byte[] valueField(byte[] value) {
        return PutStartRequest.newBuilder()
                .setValue(ByteString.copyFrom(value))
                .build()
                .toByteArray();
    }

    private static byte[] concat(byte[] head, byte[] tail) {
        byte[] joined = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, joined, head.length, tail.length);
        return joined;
    }

    /** A standalone master streams puts up to {@code crescent.master.streamed-put-max-bytes} (16M) into place. */
    @Test
    void aStandaloneMasterAnnouncesTheLargestPutItStreams() {
        assertEquals(
                16 << 20,
                given().get(MasterWire.PATH)
                        .then()
                        .statusCode(200)
                        .extract()
                        .jsonPath()
                        .getInt("streamed-put-bytes"));
    }

    /**
     * A put past the direct listener's 256 KiB read buffer is called once the fields before its value are here, and
     * its value read from the socket straight into the object's memory; the event loops read the frame whole. Either
     * way the put is committed in its one call, and a put refused before its value is read (first writer wins, a
     * wrong size) has its value skipped: the next call on the connection is read from its start, and nothing stored
     * changes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aLargePutIsCommittedInItsCallAndARefusedOnesValueIsSkipped(String listener) throws IOException {
        byte[] first = new byte[1 << 20];
        byte[] second = new byte[(1 << 20) + 3];
        new Random(11).nextBytes(first);
        new Random(12).nextBytes(second);
        String key = "wire/large/" + listener;
        int put = MasterWire.id(MasterServiceGrpc.getPutStartMethod());
        double ends = answered("put_end");
        try (Socket socket = connected(listener)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            send(out, put, 1, putWithBytes(key, first, first.length, false));
            send(out, put, 2, putWithBytes(key, second, second.length, false)); // first writer wins
            send(out, put, 3, putWithBytes(key + "/sized", second, first.length, true)); // the size is not the value's
            // the value not last (a field after it): read whole, and committed all the same
            send(
                    out,
                    put,
                    4,
                    PutStartRequest.newBuilder()
                            .setClientId("wire-test")
                            .setKey(key + "/not-last")
                            .setSize(second.length)
                            .setValue(ByteString.copyFrom(second))
                            .setWriterHost("no-such-host")
                            .build()
                            .toByteArray());
            send(
                    out,
                    MasterWire.id(MasterServiceGrpc.getExistMethod()),
                    5,
                    KeyRequest.newBuilder().setKey(key).build().toByteArray());
            Answer committed = read(in);
            assertEquals(0, committed.code(), committed.message());
            assertTrue(PutStartResponse.parseFrom(committed.payload()).getCommitted(), "committed in its call");
            assertEquals(ErrorCode.OBJECT_ALREADY_EXISTS.number(), read(in).code());
            assertEquals(ErrorCode.INVALID_PARAMS.number(), read(in).code());
            Answer notLast = read(in);
            assertEquals(0, notLast.code(), notLast.message());
            assertTrue(PutStartResponse.parseFrom(notLast.payload()).getCommitted());
            Answer exists = read(in);
            assertEquals(5, exists.callId(), "the connection read on from the next frame's start");
            assertTrue(ExistResponse.parseFrom(exists.payload()).getExists());
        }
        assertEquals(ends, answered("put_end"), "no PutEnd: the master committed them");
        assertArrayEquals(first, storedBytes(key), "the first writer's bytes, whole");
        assertArrayEquals(second, storedBytes(key + "/not-last"));
        given().get("/v1/objects/" + key + "/sized").then().statusCode(404);
    }

    /**
     * A large put whose value stops arriving holds nothing: its connection is closed within the frame timeout (or as
     * soon as its caller closes it), its put revoked, and the key free for the next put.
     */
    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aLargePutWhoseValueDoesNotArriveIsRevoked(String listener) throws Exception {
        byte[] value = new byte[1 << 20];
        new Random(13).nextBytes(value);
        String key = "wire/large-stalled/" + listener;
        int put = MasterWire.id(MasterServiceGrpc.getPutStartMethod());
        for (boolean closes : new boolean[] {false, true}) {
            byte[] request = putWithBytes(key, value, value.length, false);
            long started = System.nanoTime();
            try (Socket socket = connected(listener)) {
                DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                out.writeInt(MasterWire.REQUEST_HEADER + request.length);
                out.writeByte(put);
                out.writeInt(1);
                out.write(request, 0, request.length / 2);
                out.flush();
                if (!closes) {
                    assertEquals(-1, socket.getInputStream().read(), "the value stalled: closed");
                    assertTrue(System.nanoTime() - started < 8_000_000_000L, "within the 2 s test frame timeout");
                }
            }
            for (int tries = 0; exists(key) && tries < 50; tries++) {
                Thread.sleep(100);
            }
            assertFalse(exists(key), "revoked, not left in progress");
        }
        try (Socket socket = connected(listener)) {
            send(new DataOutputStream(socket.getOutputStream()), put, 2, putWithBytes(key, value, value.length, false));
            Answer answer = read(new DataInputStream(new BufferedInputStream(socket.getInputStream())));
            assertEquals(0, answer.code(), answer.message());
        }
        assertArrayEquals(value, storedBytes(key));
    }

    /** The object's bytes, read over REST (larger than the wire answers inline). */
    static byte[] storedBytes(String key) {
        return given().get("/v1/objects/" + key)
                .then()
                .statusCode(200)
                .extract()
                .asByteArray();
    }

    static boolean exists(String key) {
        return given().get("/v1/objects/" + key).then().extract().statusCode() != 404;
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aFrameThatCannotBeReadClosesOnlyItsConnection(String listener) throws IOException {
        try (Socket bad = connected(listener);
                Socket good = connected(listener)) {
            new DataOutputStream(bad.getOutputStream()).writeInt(MasterWire.MAX_FRAME + 1);
            assertEquals(-1, bad.getInputStream().read(), "an oversized frame closes the connection");

            DataOutputStream out = new DataOutputStream(good.getOutputStream());
            send(
                    out,
                    MasterWire.id(MasterServiceGrpc.getExistMethod()),
                    1,
                    KeyRequest.newBuilder().setKey("wire/absent").build().toByteArray());
            assertEquals(0, read(new DataInputStream(good.getInputStream())).code());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aHelloLongerThanANodeNameClosesTheConnection(String listener) throws IOException {
        try (Socket socket = opened(service, 0, listener)) {
            socket.setSoTimeout(10_000);
            new DataOutputStream(socket.getOutputStream()).writeInt(MasterWire.MAX_NODE_NAME_BYTES + 1);
            assertEquals(-1, socket.getInputStream().read());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aHelloOrFrameThatStallsIsClosedWithinTheFrameTimeout(String listener) throws IOException {
        // D11 of the hardening issue: partial frames of up to 64 MiB were kept with no deadline.
        try (Socket silent = opened(service, 0, listener);
                Socket stalled = connected(listener)) {
            silent.setSoTimeout(10_000);
            long started = System.nanoTime();
            DataOutputStream out = new DataOutputStream(stalled.getOutputStream());
            out.writeInt(MasterWire.MAX_FRAME);
            out.write(new byte[10]);
            out.flush();
            assertEquals(-1, silent.getInputStream().read(), "no hello: closed");
            assertEquals(-1, stalled.getInputStream().read(), "frame never finished: closed");
            assertTrue(System.nanoTime() - started < 8_000_000_000L, "within the 2 s test frame timeout");
        }
        try (Socket good = connected(listener)) {
            DataOutputStream out = new DataOutputStream(good.getOutputStream());
            send(out, 99, 1, new byte[0]);
            assertEquals(
                    ErrorCode.INVALID_PARAMS.number(),
                    read(new DataInputStream(good.getInputStream())).code());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void unfinishedFramesPastTheBudgetCloseTheirConnectionAtOnce(String listener) throws IOException {
        // The test budget (crescent.master.wire-buffer-budget) holds 4 maximal frames: the 5th is refused.
        List<Socket> announced = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                Socket socket = connected(listener);
                DataOutputStream out = new DataOutputStream(socket.getOutputStream());
                out.writeInt(MasterWire.MAX_FRAME);
                out.flush();
                announced.add(socket);
            }
            Socket refused = announced.getLast();
            refused.setSoTimeout(1_000); // well before the frame timeout
            assertEquals(-1, refused.getInputStream().read(), "over budget: closed before buffering");
        } finally {
            for (Socket socket : announced) {
                socket.close();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aCallerThatStopsReadingItsAnswersStopsBeingRead(String listener) throws Exception {
        // 3,000 reads of a 64 KiB object sent at once, no answer read: 190 MiB of answers the master must not queue.
        int reads = 3_000;
        byte[] value = new byte[64 << 10];
        new Random(7).nextBytes(value);
        try (Socket socket = connected(listener, 256 << 10)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            send(out, MasterWire.id(MasterServiceGrpc.getPutStartMethod()), 1, putWithBytes("wire/unread", value));
            Answer put = read(in);
            assertEquals(0, put.code(), put.message());
            assertTrue(PutStartResponse.parseFrom(put.payload()).getCommitted(), "the master took the bytes inline");

            double before = answered("get_replica_list");
            byte[] get = getAsBytes("wire/unread", value.length);
            ByteArrayOutputStream requests = new ByteArrayOutputStream();
            for (int call = 0; call < reads; call++) {
                send(
                        new DataOutputStream(requests),
                        MasterWire.id(MasterServiceGrpc.getGetReplicaListMethod()),
                        call,
                        get);
            }
            out.write(requests.toByteArray()); // about 60 KB: the socket's buffers take it all
            out.flush();
            double served = waitUntilSteady(() -> answered("get_replica_list") - before);
            // What fits in the two sockets' buffers (4 MiB to send, 256 KiB to receive) is some 70 answers. (When the
            // channel counted answers sent from their segment as no bytes, 683 were served.)
            assertTrue(served < reads / 10, served + " of " + reads + " reads served while their answers sat unread");

            for (int call = 0; call < reads; call++) {
                Answer answer = read(in);
                assertEquals(call, answer.callId());
                assertEquals(0, answer.code(), answer.message());
                assertArrayEquals(value, valueOf(answer));
            }
            assertEquals(reads, answered("get_replica_list") - before, 0.0, "reading resumed once answers drained");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void valuesSentBackToBackEachLandWhole(String listener) throws IOException {
        // Request frames share pooled memory with the values they carry until the master copied them: 40 puts of
        // distinct 64 KiB values sent in one write, then each read back, must find each its own bytes.
        int puts = 40;
        byte[][] values = new byte[puts][64 << 10];
        ByteArrayOutputStream requests = new ByteArrayOutputStream();
        for (int i = 0; i < puts; i++) {
            new Random(i).nextBytes(values[i]);
            send(
                    new DataOutputStream(requests),
                    MasterWire.id(MasterServiceGrpc.getPutStartMethod()),
                    i,
                    putWithBytes("wire/back-to-back/" + i, values[i]));
        }
        try (Socket socket = connected(listener)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write(requests.toByteArray());
            out.flush();
            for (int i = 0; i < puts; i++) {
                Answer put = read(in);
                assertEquals(0, put.code(), put.message());
                assertTrue(PutStartResponse.parseFrom(put.payload()).getCommitted());
            }
            for (int i = 0; i < puts; i++) {
                send(
                        out,
                        MasterWire.id(MasterServiceGrpc.getGetReplicaListMethod()),
                        i,
                        getAsBytes("wire/back-to-back/" + i, values[i].length));
                Answer got = read(in);
                assertEquals(0, got.code(), got.message());
                assertArrayEquals(values[i], valueOf(got), "value " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void bytesAnsweredFromTheirSegmentGiveTheirLeaseBackOnceSent(String listener) throws IOException {
        // The master answers small objects' bytes straight from their segment and holds their read lease until the
        // answer is out: once it is, an unforced remove must find no lease (one held on would refuse it).
        Map<String, byte[]> values = new LinkedHashMap<>();
        values.put("wire/lent/one", randomBytes(3000, 7));
        values.put("wire/lent/batched", randomBytes(1000, 8));
        try (Socket socket = connected(listener)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            for (Map.Entry<String, byte[]> value : values.entrySet()) {
                send(
                        out,
                        MasterWire.id(MasterServiceGrpc.getPutStartMethod()),
                        1,
                        putWithBytes(value.getKey(), value.getValue()));
                assertEquals(0, read(in).code());
            }
            send(out, MasterWire.id(MasterServiceGrpc.getGetReplicaListMethod()), 2, getAsBytes("wire/lent/one", 4096));
            assertArrayEquals(values.get("wire/lent/one"), valueOf(read(in)));
            // Lent bytes sit in their own items, around an item that has none.
            BatchKeysRequest batch = BatchKeysRequest.newBuilder()
                    .addKeys("wire/lent/batched")
                    .addKeys("wire/lent/missing")
                    .addKeys("wire/lent/one")
                    .setAcceptInline(4096)
                    .build();
            send(out, MasterWire.id(MasterServiceGrpc.getBatchGetReplicaListMethod()), 3, batch.toByteArray());
            Answer batched = read(in);
            assertEquals(0, batched.code(), batched.message());
            List<BatchGetReplicaListItem> items =
                    BatchGetReplicaListResponse.parseFrom(batched.payload()).getItemsList();
            assertArrayEquals(
                    values.get("wire/lent/batched"),
                    items.get(0).getLocation().getValue().toByteArray());
            assertEquals(
                    ErrorCode.OBJECT_NOT_FOUND.number(),
                    items.get(1).getStatus().getCode());
            assertArrayEquals(
                    values.get("wire/lent/one"),
                    items.get(2).getLocation().getValue().toByteArray());
            for (String key : values.keySet()) {
                send(
                        out,
                        MasterWire.id(MasterServiceGrpc.getRemoveMethod()),
                        4,
                        RemoveRequest.newBuilder().setKey(key).build().toByteArray());
                Answer removed = read(in);
                assertEquals(0, removed.code(), key + ": " + removed.message());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void aRequestRingCarriesCallsAsItsConnectionsCallerAndDiesWithIt(String listener) throws Exception {
        assumeTrue(Futex.available(), "request rings need futexes");
        Path file;
        String thread;
        try (Socket socket = connected(listener);
                Arena arena = Arena.ofShared()) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            Answer opened = openRing(in, out, HostId.current());
            assertEquals(0, opened.code(), opened.message());
            file = Path.of(StringValue.parseFrom(opened.payload()).getValue());
            assertTrue(file.getFileName().toString().startsWith("crescent-ring-"), file.toString());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            thread = "crescent-ring-" + file.getFileName();
            assertTrue(threadAlive(thread), "a thread serves the ring");
            RequestRing ring;
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ring = RequestRing.open(channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size(), arena));
            }
            int exist = MasterWire.id(MasterServiceGrpc.getExistMethod());
            byte[] absent = KeyRequest.newBuilder().setKey("wire/ring").build().toByteArray();

            Answer answer = ringCall(ring, 0, exist, 41, absent);
            assertEquals(41, answer.callId());
            assertEquals(0, answer.code(), answer.message());
            assertFalse(ExistResponse.parseFrom(answer.payload()).getExists());
            for (int i = 0; i < 50 && Files.exists(file); i++) {
                Thread.sleep(100);
            }
            assertFalse(Files.exists(file), "the file goes once a request shows the caller mapped it");

            byte[] value = randomBytes(3000, 9);
            answer = ringCall(
                    ring,
                    1,
                    MasterWire.id(MasterServiceGrpc.getPutStartMethod()),
                    42,
                    putWithBytes("wire/ring", value));
            assertEquals(0, answer.code(), answer.message());
            assertTrue(PutStartResponse.parseFrom(answer.payload()).getCommitted(), "a put through the ring is made");
            assertTrue(
                    ExistResponse.parseFrom(ringCall(ring, 0, exist, 43, absent).payload())
                            .getExists());

            ring.post(2, ring.payloadBytes() + 1); // a length past the slot: never read
            assertTrue(ring.awaitAnswer(2, TimeUnit.SECONDS.toNanos(10)));
            assertEquals(ErrorCode.INVALID_PARAMS.number(), ring.payload(2).getInt(4));
            ring.free(2);
            answer = ringCall(ring, 2, MasterWire.id(MasterServiceGrpc.getBatchPutEndMethod()), 44, new byte[0]);
            assertEquals(ErrorCode.INVALID_PARAMS.number(), answer.code());
            assertTrue(answer.message().contains("not served over a ring"), answer.message());
            answer = ringCall(ring, 3, 250, 45, new byte[0]);
            assertEquals(ErrorCode.INVALID_PARAMS.number(), answer.code(), "an unknown method");

            Answer again = openRing(in, out, HostId.current());
            assertEquals(ErrorCode.INVALID_PARAMS.number(), again.code(), "one ring per connection");
            answer = ringCall(
                    ring,
                    2,
                    MasterWire.id(MasterServiceGrpc.getRemoveMethod()),
                    46,
                    RemoveRequest.newBuilder().setKey("wire/ring").build().toByteArray());
            assertEquals(0, answer.code(), "the ring still serves after refused requests: " + answer.message());
        }
        for (int i = 0; i < 100 && threadAlive(thread); i++) {
            Thread.sleep(100);
        }
        assertFalse(threadAlive(thread), "the ring closes with its connection");
    }

    @Test
    void aRingIsOfferedOnlyOnTheMastersHostAndUpToItsLimit() throws Exception {
        assumeTrue(Futex.available(), "request rings need futexes");
        List<Socket> holding = new ArrayList<>();
        try (Socket socket = connected()) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            Answer refused = openRing(in, out, "another-host");
            assertEquals(ErrorCode.UNSUPPORTED.number(), refused.code());
            assertTrue(refused.message().contains("not on this master's host"), refused.message());

            Answer last = null;
            for (int i = 0; i < 64 && (last == null || last.code() == 0); i++) {
                Socket another = connected();
                holding.add(another);
                last = openRing(
                        new DataInputStream(another.getInputStream()),
                        new DataOutputStream(another.getOutputStream()),
                        HostId.current());
            }
            assertEquals(ErrorCode.UNSUPPORTED.number(), last.code(), "past the configured number of rings");
            assertTrue(last.message().contains("request rings are open"), last.message());
            holding.getFirst().close(); // frees one ring
            Answer reopened = null;
            for (int i = 0; i < 100 && (reopened == null || reopened.code() != 0); i++) {
                Thread.sleep(100);
                reopened = openRing(in, out, HostId.current());
            }
            assertEquals(0, reopened.code(), reopened.message());
        } finally {
            for (Socket socket : holding) {
                socket.close();
            }
        }
    }

    private static Answer openRing(DataInputStream in, DataOutputStream out, String hostId) throws IOException {
        send(out, MasterWire.RING_OPEN, 40, StringValue.of(hostId).toByteArray());
        return read(in);
    }

    /** One call through slot {@code slot} of a ring, waiting up to 10 s for its answer. */
    private static Answer ringCall(RequestRing ring, int slot, int method, int callId, byte[] body) {
        ring.payload(slot).put((byte) method).putInt(callId).put(body);
        ring.post(slot, MasterWire.REQUEST_HEADER + body.length);
        assertTrue(ring.awaitAnswer(slot, TimeUnit.SECONDS.toNanos(10)), "answered in time");
        ByteBuffer answer = ring.payload(slot).limit(ring.length(slot));
        int answeredId = answer.getInt();
        int code = answer.getInt();
        byte[] payload = new byte[answer.remaining()];
        answer.get(payload);
        ring.free(slot);
        return new Answer(answeredId, code, payload);
    }

    private static boolean threadAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }

    static byte[] randomBytes(int size, int seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** A PutStart (upsert) that carries the object's bytes. */
    static byte[] putWithBytes(String key, byte[] value) {
        return putWithBytes(key, value, value.length, true);
    }

    /** A put start whose value (of {@code size} said) is its last field, as clients send it. */
    static byte[] putWithBytes(String key, byte[] value, long size, boolean upsert) {
        return PutStartRequest.newBuilder()
                .setClientId("wire-test")
                .setKey(key)
                .setSize(size)
                .setUpsert(upsert)
                .setValue(ByteString.copyFrom(value))
                .build()
                .toByteArray();
    }

    /** A GetReplicaList that takes objects up to {@code size} as bytes. */
    static byte[] getAsBytes(String key, int size) {
        return GetReplicaListRequest.newBuilder()
                .setKey(key)
                .setAcceptInline(size)
                .build()
                .toByteArray();
    }

    /** The object's bytes a GetReplicaList answer carries. */
    static byte[] valueOf(Answer answer) throws IOException {
        return GetReplicaListResponse.parseFrom(answer.payload()).getValue().toByteArray();
    }

    @jakarta.inject.Inject
    MeterRegistry registry;

    private double answered(String op) {
        return MasterCalls.answered(registry, op);
    }

    /** The value once it held still for half a second (at most 10 s). */
    private static double waitUntilSteady(DoubleSupplier value) throws InterruptedException {
        double last = value.getAsDouble();
        for (int round = 0; round < 20; round++) {
            Thread.sleep(500);
            double now = value.getAsDouble();
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }

    private int announcedPort() {
        int port = wirePort();
        assertTrue(port != service.getPort(), "a listener of its own: " + port);
        return port;
    }

    /** The wire port the service under test announces. */
    static int wirePort() {
        return wirePort("port");
    }

    /** The port the service under test announces as {@code listener} ("port", "batch-port" or "direct-port"). */
    static int wirePort(String listener) {
        int port = given().get(MasterWire.PATH)
                .then()
                .statusCode(200)
                .extract()
                .jsonPath()
                .getInt(listener);
        assertTrue(port > 0, listener + ": " + port);
        return port;
    }

    /** A connection to the announced port that said hello as node "wire-test". */
    private Socket connected() throws IOException {
        return connected("port");
    }

    /** A connection to the listener announced as {@code listener} that said hello as node "wire-test". */
    private Socket connected(String listener) throws IOException {
        return connected(service, 0, listener);
    }

    private Socket connected(String listener, int receiveBuffer) throws IOException {
        return connected(service, receiveBuffer, listener);
    }

    static Socket connected(URL service, int receiveBuffer) throws IOException {
        return connected(service, receiveBuffer, "port");
    }

    /**
     * A connection to the wire listener {@code service} announces as {@code listener}, with a receive buffer of that
     * size (0: the kernel's, which grows with use), that said hello as node "wire-test".
     */
    static Socket connected(URL service, int receiveBuffer, String listener) throws IOException {
        Socket socket = opened(service, receiveBuffer, listener);
        byte[] name = "wire-test".getBytes(StandardCharsets.UTF_8);
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.writeInt(name.length);
        out.write(name);
        out.flush();
        return socket;
    }

    /**
     * A connection to the wire listener announced as {@code listener}, no hello sent; the direct listener's first
     * byte is read, and must say it serves the connection.
     */
    static Socket opened(URL service, int receiveBuffer, String listener) throws IOException {
        Socket socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.connect(new InetSocketAddress(service.getHost(), wirePort(listener)));
        socket.setSoTimeout(10_000);
        if (listener.equals("direct-port")) {
            assertEquals(MasterWire.DIRECT_SERVED, socket.getInputStream().read(), "the direct listener serves it");
        }
        return socket;
    }

    static void send(DataOutputStream out, int method, int callId, byte[] body) throws IOException {
        out.writeInt(MasterWire.REQUEST_HEADER + body.length);
        out.writeByte(method);
        out.writeInt(callId);
        out.write(body);
        out.flush();
    }

    static Answer read(DataInputStream in) throws IOException {
        int length = in.readInt();
        int callId = in.readInt();
        int code = in.readInt();
        byte[] payload = new byte[length - MasterWire.RESPONSE_HEADER];
        in.readFully(payload);
        return new Answer(callId, code, payload);
    }
}
