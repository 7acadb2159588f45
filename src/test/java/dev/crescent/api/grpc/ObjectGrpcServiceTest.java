package dev.crescent.api.grpc;

import com.google.protobuf.ByteString;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.BatchPutItem;
import dev.crescent.protocol.proto.BatchPutRequest;
import dev.crescent.protocol.proto.GetChunk;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.KeyStatus;
import dev.crescent.protocol.proto.ObjectService;
import dev.crescent.protocol.proto.PutChunk;
import dev.crescent.protocol.proto.PutHeader;
import dev.crescent.protocol.proto.RemoveRequest;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.mutiny.Multi;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gRPC object gateway over real gRPC: streamed puts and gets of objects larger than one message, batches. */
@QuarkusTest
class ObjectGrpcServiceTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @GrpcClient("objects")
    ObjectService objects;

    @Test
    void aLargeObjectStreamsInAndOutInChunks() {
        byte[] value = bytes(3 * ObjectGrpcService.CHUNK + 12345, 1);
        objects.put(chunks("og/large", value, 700_000, value.length)).await().atMost(WAIT);
        List<GetChunk> got =
                objects.get(key("og/large")).collect().asList().await().atMost(WAIT);
        assertEquals(4, got.size(), "1 MiB chunks");
        assertEquals(value.length, got.getFirst().getSize());
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        got.forEach(chunk -> joined.writeBytes(chunk.getData().toByteArray()));
        assertArrayEquals(value, joined.toByteArray());
        assertTrue(objects.exist(key("og/large")).await().atMost(WAIT).getExists());
        objects.remove(RemoveRequest.newBuilder()
                        .setKey("og/large")
                        .setForce(true)
                        .build())
                .await()
                .atMost(WAIT);
        assertFalse(objects.exist(key("og/large")).await().atMost(WAIT).getExists());
    }

    @Test
    void errorsCarryTheirCodes() {
        assertEquals(
                ErrorCode.OBJECT_NOT_FOUND,
                code(() ->
                        objects.get(key("og/none")).collect().asList().await().atMost(WAIT)));
        byte[] value = bytes(1000, 2);
        assertEquals(
                ErrorCode.INVALID_PARAMS,
                code(() -> objects.put(chunks("og/short", value, 300, 2000))
                        .await()
                        .atMost(WAIT)),
                "the chunks hold fewer bytes than the header says");
        assertFalse(objects.exist(key("og/short")).await().atMost(WAIT).getExists());
        objects.put(chunks("og/once", value, 300, value.length)).await().atMost(WAIT);
        assertEquals(
                ErrorCode.OBJECT_ALREADY_EXISTS,
                code(() -> objects.put(chunks("og/once", bytes(10, 3), 300, 10))
                        .await()
                        .atMost(WAIT)));
    }

    @Test
    void batchesAnswerPerKey() {
        List<KeyStatus> put = objects.batchPut(BatchPutRequest.newBuilder()
                        .addObjects(item("og/b1", bytes(100, 4)))
                        .addObjects(item("og/b2", new byte[0]))
                        .addObjects(item("og/b3", bytes(300, 5)))
                        .build())
                .await()
                .atMost(WAIT)
                .getStatusesList();
        assertEquals(
                List.of(0, ErrorCode.INVALID_PARAMS.number(), 0),
                put.stream().map(KeyStatus::getCode).toList());
        var got = objects.batchGet(BatchKeysRequest.newBuilder()
                        .addKeys("og/b3")
                        .addKeys("og/b2")
                        .addKeys("og/b1")
                        .build())
                .await()
                .atMost(WAIT)
                .getItemsList();
        assertArrayEquals(bytes(300, 5), got.get(0).getValue().toByteArray());
        assertEquals(ErrorCode.OBJECT_NOT_FOUND.number(), got.get(1).getStatus().getCode());
        assertArrayEquals(bytes(100, 4), got.get(2).getValue().toByteArray());
        assertEquals(
                List.of(true, false),
                objects.batchExist(BatchKeysRequest.newBuilder()
                                .addKeys("og/b1")
                                .addKeys("og/b2")
                                .build())
                        .await()
                        .atMost(WAIT)
                        .getExistsList());
        assertEquals(
                List.of(0, ErrorCode.OBJECT_NOT_FOUND.number()),
                objects
                        .batchRemove(BatchKeysRequest.newBuilder()
                                .addKeys("og/b1")
                                .addKeys("og/b2")
                                .setForce(true)
                                .build())
                        .await()
                        .atMost(WAIT)
                        .getStatusesList()
                        .stream()
                        .map(KeyStatus::getCode)
                        .toList());
    }

    /** The value in chunks of {@code chunk} bytes, the first with a header announcing {@code declared} bytes. */
    @Test
    void aPutAnnouncingMoreThanTheGatewayTakesFailsBeforeTheStreamIsSent() {
        // D10 of the hardening issue: the whole stream was gathered on the heap before any check (test limit 64 MiB).
        AtomicInteger sent = new AtomicInteger();
        ByteString megabyte = ByteString.copyFrom(new byte[1 << 20]);
        Multi<PutChunk> endless = Multi.createFrom().range(0, 1024).map(i -> {
            sent.incrementAndGet();
            PutChunk.Builder chunk = PutChunk.newBuilder().setData(megabyte);
            return i == 0
                    ? chunk.setHeader(PutHeader.newBuilder().setKey("og/huge").setSize(1L << 30))
                            .build()
                    : chunk.build();
        });
        assertEquals(
                ErrorCode.INVALID_PARAMS,
                code(() -> objects.put(endless).await().atMost(WAIT)));
        assertTrue(sent.get() < 1024, "the call ended before the client sent its GiB: " + sent.get() + " MiB sent");
        assertEquals(
                ErrorCode.INVALID_PARAMS,
                code(() -> objects.put(chunks("og/more", bytes(5000, 4), 1000, 1000))
                        .await()
                        .atMost(WAIT)),
                "more bytes than the header says");
        assertFalse(objects.exist(key("og/more")).await().atMost(WAIT).getExists());
    }

    private static Multi<PutChunk> chunks(String key, byte[] value, int chunk, long declared) {
        List<PutChunk> chunks = new java.util.ArrayList<>();
        for (int offset = 0; offset < value.length; offset += chunk) {
            PutChunk.Builder builder = PutChunk.newBuilder()
                    .setData(ByteString.copyFrom(value, offset, Math.min(chunk, value.length - offset)));
            if (offset == 0) {
                builder.setHeader(PutHeader.newBuilder().setKey(key).setSize(declared));
            }
            chunks.add(builder.build());
        }
        return Multi.createFrom().iterable(chunks);
    }

    private static BatchPutItem item(String key, byte[] value) {
        return BatchPutItem.newBuilder()
                .setKey(key)
                .setValue(ByteString.copyFrom(value))
                .build();
    }

    private static KeyRequest key(String key) {
        return KeyRequest.newBuilder().setKey(key).build();
    }

    private static ErrorCode code(Runnable call) {
        StoreException error = GrpcErrors.fromStatus(assertThrows(StatusRuntimeException.class, call::run));
        return error.code();
    }

    private static byte[] bytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
