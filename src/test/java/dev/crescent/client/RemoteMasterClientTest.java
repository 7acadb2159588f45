package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.HeartbeatReply;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.transfer.SegmentDescriptor;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URL;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every master call of the remote client, over the wire protocol and over gRPC only, against the standalone
 * service: both must give the same answers and the same error codes.
 */
@QuarkusTest
class RemoteMasterClientTest {
    @TestHTTPResource("/")
    URL service;

    private RemoteMasterClient connect(boolean wire) {
        String address = service.getHost() + ":" + service.getPort();
        return new RemoteMasterClient(() -> address, "remote-test", Duration.ofSeconds(5), Duration.ofSeconds(5), wire);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void singleCallsAnswerAndFailWithTheirCodes(boolean wire) {
        String key = "remote/" + wire + "/one";
        try (RemoteMasterClient master = connect(wire)) {
            List<ReplicaDescriptor> replicas = master.putStart("writer", key, 4096, 1, false);
            assertEquals(wire, master.usesWire(), "the client takes the wire exactly when asked to");
            assertEquals(4096, replicas.getFirst().length());
            assertFalse(master.exist(key), "not readable before PutEnd");
            assertCode(ErrorCode.OBJECT_ALREADY_EXISTS, () -> master.putStart("other", key, 4096, 1, false));
            assertCode(ErrorCode.ILLEGAL_CLIENT, () -> master.putEnd("other", key));
            master.putEnd("writer", key, 0xCAFEL);
            assertTrue(master.exist(key));
            ObjectLocation location = master.getReplicaList(key);
            assertEquals(4096, location.size());
            assertEquals(
                    replicas.getFirst().offset(), location.replicas().getFirst().offset());
            assertEquals(0xCAFEL, location.crc32c());
            assertTrue(location.leaseDeadlineMillis() > System.currentTimeMillis());
            master.remove(key, true);
            assertFalse(master.exist(key));

            assertCode(ErrorCode.OBJECT_NOT_FOUND, () -> master.getReplicaList(key));
            assertCode(ErrorCode.INVALID_KEY, () -> master.exist(""));
            assertCode(ErrorCode.INVALID_PARAMS, () -> master.putStart("writer", key, 0, 1, false));
            assertCode(ErrorCode.NO_AVAILABLE_HANDLE, () -> master.putStart("writer", key, 1L << 40, 1, false));
            master.putStart("writer", key, 100, 1, false);
            master.putRevoke("writer", key);
            assertFalse(master.exist(key), "a revoked put leaves nothing");
            assertEquals(wire, master.usesWire(), "errors do not make the client leave the wire");
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void batchCallsAnswerOneResultPerKey(boolean wire) {
        String prefix = "remote/" + wire + "/batch/";
        List<String> keys = List.of(prefix + "a", "", prefix + "b");
        try (RemoteMasterClient master = connect(wire)) {
            var started =
                    master.batchPutStart("writer", keys, List.of(100L, 100L, 200L), ReplicaConfig.replicas(1), false);
            assertEquals(Arrays.asList(null, ErrorCode.INVALID_KEY, null), codes(started));
            assertEquals(200, started.get(2).value().getFirst().length());
            var ended = master.batchPutEnd("writer", List.of(prefix + "a", prefix + "b", prefix + "none"));
            assertEquals(Arrays.asList(null, null, ErrorCode.OBJECT_NOT_FOUND), codes(ended));
            assertEquals(
                    List.of(true, false),
                    master.batchExist(List.of(prefix + "b", prefix + "none")).stream()
                            .map(KeyResult::value)
                            .toList());
            var located = master.batchGetReplicaList(List.of(prefix + "a", prefix + "none"));
            assertEquals(100, located.getFirst().value().size());
            assertEquals(ErrorCode.OBJECT_NOT_FOUND, located.get(1).code());
            master.batchPutStart("writer", List.of(prefix + "c"), List.of(10L), ReplicaConfig.replicas(1), false);
            assertEquals(
                    Arrays.asList((ErrorCode) null), codes(master.batchPutRevoke("writer", List.of(prefix + "c"))));
            assertEquals(
                    Arrays.asList(null, null), codes(master.batchRemove(List.of(prefix + "a", prefix + "b"), true)));
            assertCode(
                    ErrorCode.INVALID_PARAMS,
                    () -> master.batchPutStart(
                            "writer", List.of("x", "y"), List.of(1L), ReplicaConfig.replicas(1), false));
        }
    }

    /**
     * A get into the caller's buffer leaves the bytes there: over the wire the answer is read into an array its
     * connection keeps and overwrites with the next answer, so a location that still pointed into it would show the
     * second object's bytes as the first's.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aGetIntoTheCallersBufferLeavesTheBytesThere(boolean wire) {
        String prefix = "remote/" + wire + "/into/";
        try (RemoteMasterClient master = connect(wire)) {
            byte[] first = filled(4096, (byte) 1);
            byte[] second = filled(4096, (byte) 2);
            for (String key : List.of("first", "second")) {
                byte[] bytes = key.equals("first") ? first : second;
                StartedPut put = master.putStartInline(
                        "writer", prefix + key, MemorySegment.ofArray(bytes), ReplicaConfig.replicas(1), false, null);
                assertTrue(put.committed(), "the standalone master writes a small put's bytes itself");
            }
            MemorySegment one = MemorySegment.ofArray(new byte[8192]);
            MemorySegment two = MemorySegment.ofArray(new byte[8192]);
            ObjectLocation a = master.getReplicaListInto(prefix + "first", 4096, "", one);
            ObjectLocation b = master.getReplicaListInto(prefix + "second", 4096, "", two);
            assertEquals(one, a.value(), "the bytes are in the caller's buffer");
            assertEquals(two, b.value());
            assertArrayEquals(first, a.value().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(second, b.value().toArray(ValueLayout.JAVA_BYTE));

            MemorySegment small = MemorySegment.ofArray(new byte[100]);
            ObjectLocation larger = master.getReplicaListInto(prefix + "first", 4096, "", small);
            assertArrayEquals(
                    first,
                    larger.value().toArray(ValueLayout.JAVA_BYTE),
                    "bytes that do not fit the buffer are the caller's still, in an array of their own");
            master.getReplicaListInto(prefix + "second", 4096, "", two);
            assertArrayEquals(first, larger.value().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /**
     * A batch get into the caller's buffers leaves each inline object's bytes in the buffer asked for its key, and
     * asks for none for a key that is not answered with bytes: over the wire the whole answer lives in a buffer its
     * connection keeps and overwrites with the next answer.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aBatchGetIntoTheCallersBuffersLeavesTheBytesThere(boolean wire) {
        String prefix = "remote/" + wire + "/batch-into/";
        try (RemoteMasterClient master = connect(wire)) {
            List<byte[]> values = List.of(filled(4096, (byte) 7), filled(1000, (byte) 8), filled(4096, (byte) 9));
            List<String> keys = List.of(prefix + "a", prefix + "missing", prefix + "b", prefix + "c");
            for (int i = 0; i < values.size(); i++) {
                String key = i == 0 ? keys.get(0) : keys.get(i + 1);
                master.putStartInline(
                        "writer", key, MemorySegment.ofArray(values.get(i)), ReplicaConfig.replicas(1), false, null);
            }
            MemorySegment[] targets = {
                MemorySegment.ofArray(new byte[8192]),
                null,
                MemorySegment.ofArray(new byte[8192]),
                MemorySegment.ofArray(new byte[100])
            };
            List<Integer> asked = new java.util.ArrayList<>();
            List<KeyResult<ObjectLocation>> first = master.batchGetReplicaListInto(keys, 4096, "", (i, size) -> {
                asked.add(i);
                assertEquals(i == 2 ? 1000 : 4096, size, "asked with the object's size");
                return targets[i];
            });
            assertEquals(List.of(0, 2, 3), asked, "a buffer is asked for each key answered with bytes, and only those");
            assertEquals(ErrorCode.OBJECT_NOT_FOUND, first.get(1).error().code());
            assertEquals(targets[0], first.get(0).value().value(), "the bytes are in the caller's buffer");
            assertEquals(targets[2].asSlice(0, 1000), first.get(2).value().value());
            assertArrayEquals(values.get(0), first.get(0).value().value().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(values.get(1), first.get(2).value().value().toArray(ValueLayout.JAVA_BYTE));
            ObjectLocation tooLarge = first.get(3).value();
            assertArrayEquals(
                    values.get(2),
                    tooLarge.value().toArray(ValueLayout.JAVA_BYTE),
                    "bytes that do not fit their buffer are the caller's still, in an array of their own");

            master.batchGetReplicaList(List.of(prefix + "c", prefix + "b", prefix + "a"), 4096, "");
            assertArrayEquals(values.get(0), first.get(0).value().value().toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(values.get(2), tooLarge.value().toArray(ValueLayout.JAVA_BYTE), "not the next answer's");
        }
    }

    private static byte[] filled(int size, byte value) {
        byte[] bytes = new byte[size];
        Arrays.fill(bytes, value);
        return bytes;
    }

    /** Mounts, heartbeats and RemoveAll run off the master's event loop; they answer over both protocols too. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void membershipAndAdminCalls(boolean wire) {
        String client = "remote-member-" + wire;
        try (RemoteMasterClient master = connect(wire)) {
            assertEquals(HeartbeatReply.NEED_REMOUNT, master.heartbeat(client));
            master.remountSegments(client, List.of(new SegmentDescriptor(client + "-seg", 1 << 20, null)));
            assertEquals(HeartbeatReply.OK, master.heartbeat(client));
            assertCode(
                    ErrorCode.SEGMENT_ALREADY_EXISTS,
                    () -> master.mountSegment("someone-else", client + "-seg", 1 << 20, null));
            master.unmountSegment(client, client + "-seg");
            master.putStart("writer", "remote/" + wire + "/all", 10, 1, false);
            master.putEnd("writer", "remote/" + wire + "/all");
            assertTrue(master.removeAll(true) >= 1);
            assertFalse(master.exist("remote/" + wire + "/all"));
        }
    }

    private static List<ErrorCode> codes(List<? extends KeyResult<?>> results) {
        return results.stream().map(r -> r.ok() ? null : r.code()).toList();
    }

    private static void assertCode(ErrorCode code, Executable call) {
        StoreException e = assertThrows(StoreException.class, call);
        assertEquals(code, e.code(), e.getMessage());
        assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "the error says what went wrong");
    }
}
