package dev.crescent.api.wire;

import com.google.protobuf.CodedOutputStream;
import dev.crescent.common.ErrorCode;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.BatchPutStartItem;
import dev.crescent.protocol.proto.BatchPutStartRequest;
import dev.crescent.protocol.proto.BatchPutStartResponse;
import dev.crescent.protocol.proto.ExistResponse;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.URL;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static dev.crescent.api.wire.MasterWireProtocolTest.exists;
import static dev.crescent.api.wire.MasterWireProtocolTest.read;
import static dev.crescent.api.wire.MasterWireProtocolTest.send;
import static dev.crescent.api.wire.MasterWireProtocolTest.storedBytes;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batched put starts whose values follow the rest of the request, one entry per key, as the clients send them
 * ({@code values_last}), on a raw socket: past the direct listener's 256 KiB read buffer they are read as they arrive,
 * each straight into its object's memory, and every key is answered on its own.
 */
@QuarkusTest
class StreamedBatchPutTest {
    private static final int BATCH = MasterWire.id(MasterServiceGrpc.getBatchPutStartMethod());
    private static final int PUT = MasterWire.id(MasterServiceGrpc.getPutStartMethod());
    private static final int EXIST = MasterWire.id(MasterServiceGrpc.getExistMethod());

    @TestHTTPResource("/")
    URL service;

    private final Random random = new Random(21);

    /**
     * Whether the frame is read as it arrives (direct listener) or whole (event loops), each key of a large batch is
     * committed in the call, refused with its value skipped (first writer wins), or answered with replicas to write
     * (no bytes sent for it); the next call on the connection is read from its start.
     */
    @ParameterizedTest
    @ValueSource(strings = {"port", "direct-port"})
    void eachKeyOfALargeBatchIsCommittedRefusedOrLeftToItsWriter(String listener) throws IOException {
        String prefix = "wire/streamed-batch/" + listener + "/";
        byte[] first = bytes(600 << 10);
        byte[] taken = bytes(100 << 10);
        byte[] last = bytes(300 << 10);
        try (Socket socket = MasterWireProtocolTest.connected(service, 0, listener)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            send(out, PUT, 1, MasterWireProtocolTest.putWithBytes(prefix + "taken", taken, taken.length, false));
            assertEquals(0, read(in).code());

            send(
                    out,
                    BATCH,
                    2,
                    valuesLast(
                            List.of(prefix + "first", prefix + "taken", prefix + "unsent", prefix + "last"),
                            List.of(first.length, 100 << 10, 1000, last.length),
                            Arrays.asList(first, bytes(100 << 10), null, last)));
            send(
                    out,
                    EXIST,
                    3,
                    KeyRequest.newBuilder().setKey(prefix + "first").build().toByteArray());

            List<BatchPutStartItem> items = items(read(in));
            assertTrue(items.get(0).getCommitted(), items.toString());
            assertEquals(
                    ErrorCode.OBJECT_ALREADY_EXISTS.number(),
                    items.get(1).getStatus().getCode());
            assertEquals(0, items.get(2).getStatus().getCode());
            assertFalse(items.get(2).getCommitted(), "no bytes sent: its writer writes them");
            assertEquals(1, items.get(2).getReplicasCount());
            assertTrue(items.get(3).getCommitted(), items.toString());
            MasterWireProtocolTest.Answer exists = read(in);
            assertEquals(3, exists.callId(), "the connection read on from the next frame's start");
            assertTrue(ExistResponse.parseFrom(exists.payload()).getExists());
        }
        assertArrayEquals(first, storedBytes(prefix + "first"));
        assertArrayEquals(taken, storedBytes(prefix + "taken"), "the first writer's bytes");
        assertArrayEquals(last, storedBytes(prefix + "last"));
    }

    /**
     * Read as they arrive: a key is committed once its own bytes are in, while the rest of its batch is still on its
     * way; a batch whose values stop coming closes its connection and revokes the key left waiting for them.
     */
    @Test
    void aKeyIsCommittedOnceItsBytesAreInAndOneWhoseBytesNeverComeIsRevoked() throws Exception {
        String prefix = "wire/streamed-batch/arriving/";
        byte[] first = bytes(300 << 10);
        byte[] second = bytes(300 << 10);
        byte[] request = valuesLast(
                List.of(prefix + "first", prefix + "second"),
                List.of(first.length, second.length),
                List.of(first, second));
        try (Socket socket = MasterWireProtocolTest.connected(service, 0, "direct-port")) {
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.writeInt(MasterWire.REQUEST_HEADER + request.length);
            out.writeByte(BATCH);
            out.writeInt(1);
            out.write(request, 0, request.length - second.length / 2); // the first whole, half the second
            out.flush();
            for (int tries = 0; !exists(prefix + "first") && tries < 100; tries++) {
                Thread.sleep(50);
            }
            assertArrayEquals(first, storedBytes(prefix + "first"), "committed before its batch ended");
        }
        for (int tries = 0; exists(prefix + "second") && tries < 100; tries++) {
            Thread.sleep(100);
        }
        assertFalse(exists(prefix + "second"), "revoked, not left in progress");
        assertArrayEquals(first, storedBytes(prefix + "first"));
    }

    /**
     * A batch that says its values are last but is not laid out so has the keys from there refused: another field
     * among the values, an entry of another size than its key's, fewer entries than keys. The keys before stand, the
     * connection reads on, and nothing refused is stored.
     */
    @Test
    void valuesNotLaidOutAsPromisedAreRefusedKeyByKeyAndTheConnectionReadsOn() throws IOException {
        String prefix = "wire/streamed-batch/malformed/";
        byte[] value = bytes(300 << 10);
        BatchPutStartRequest head = head(
                List.of(prefix + "a", prefix + "b", prefix + "c"), List.of(value.length, value.length, value.length));
        ByteArrayOutputStream interleaved = new ByteArrayOutputStream();
        head.writeTo(interleaved);
        CodedOutputStream entries = CodedOutputStream.newInstance(interleaved);
        entries.writeByteArray(BatchPutStartRequest.VALUES_FIELD_NUMBER, value);
        entries.writeString(BatchPutStartRequest.WRITER_HOST_FIELD_NUMBER, "after-a-value");
        entries.writeByteArray(BatchPutStartRequest.VALUES_FIELD_NUMBER, value);
        entries.writeByteArray(BatchPutStartRequest.VALUES_FIELD_NUMBER, value);
        entries.flush();
        try (Socket socket = MasterWireProtocolTest.connected(service, 0, "direct-port")) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            send(out, BATCH, 1, interleaved.toByteArray());
            send(
                    out,
                    BATCH,
                    2,
                    valuesLast(
                            List.of(prefix + "d", prefix + "e"),
                            List.of(1000, value.length),
                            List.of(bytes(2000), value))); // d: more bytes than its size
            send(
                    out,
                    BATCH,
                    3,
                    valuesLast(
                            List.of(prefix + "f", prefix + "g"), List.of(value.length, value.length), List.of(value)));

            List<BatchPutStartItem> first = items(read(in));
            assertTrue(first.get(0).getCommitted(), first.toString());
            assertEquals(
                    ErrorCode.INVALID_PARAMS.number(), first.get(1).getStatus().getCode());
            assertEquals(
                    ErrorCode.INVALID_PARAMS.number(), first.get(2).getStatus().getCode());
            List<BatchPutStartItem> sized = items(read(in));
            assertEquals(
                    ErrorCode.INVALID_PARAMS.number(), sized.get(0).getStatus().getCode());
            assertTrue(sized.get(1).getCommitted(), sized.toString());
            List<BatchPutStartItem> fewer = items(read(in));
            assertTrue(fewer.get(0).getCommitted(), fewer.toString());
            assertEquals(
                    ErrorCode.INVALID_PARAMS.number(), fewer.get(1).getStatus().getCode());
        }
        for (String stored : List.of("a", "e", "f")) {
            assertArrayEquals(value, storedBytes(prefix + stored), stored);
        }
        for (String refused : List.of("b", "c", "d", "g")) {
            given().get("/v1/objects/" + prefix + refused).then().statusCode(404);
        }
    }

    private static List<BatchPutStartItem> items(MasterWireProtocolTest.Answer answer) throws IOException {
        assertEquals(0, answer.code(), answer.message());
        return BatchPutStartResponse.parseFrom(answer.payload()).getItemsList();
    }

    private static BatchPutStartRequest head(List<String> keys, List<Integer> sizes) {
        return BatchPutStartRequest.newBuilder()
                .setClientId("wire-test")
                .addAllKeys(keys)
                .addAllSizes(sizes.stream().map(Integer::longValue).toList())
                .setValuesLast(true)
                .build();
    }

    /** A batch put start whose values (null: none sent for that key) follow the rest, one entry per key. */
    private static byte[] valuesLast(List<String> keys, List<Integer> sizes, List<byte[]> values) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        head(keys, sizes).writeTo(bytes);
        CodedOutputStream entries = CodedOutputStream.newInstance(bytes);
        for (byte[] value : values) {
            entries.writeByteArray(BatchPutStartRequest.VALUES_FIELD_NUMBER, value == null ? new byte[0] : value);
        }
        entries.flush();
        return bytes.toByteArray();
    }

    private byte[] bytes(int size) {
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        return bytes;
    }
}
