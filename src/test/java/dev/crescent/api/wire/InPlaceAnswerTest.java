package dev.crescent.api.wire;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.BatchGetReplicaListItem;
import dev.crescent.protocol.proto.BatchGetReplicaListResponse;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.PutStartResponse;
import dev.crescent.protocol.proto.RemoveRequest;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.crescent.api.wire.MasterWireProtocolTest.connected;
import static dev.crescent.api.wire.MasterWireProtocolTest.getAsBytes;
import static dev.crescent.api.wire.MasterWireProtocolTest.putWithBytes;
import static dev.crescent.api.wire.MasterWireProtocolTest.randomBytes;
import static dev.crescent.api.wire.MasterWireProtocolTest.read;
import static dev.crescent.api.wire.MasterWireProtocolTest.send;
import static dev.crescent.api.wire.MasterWireProtocolTest.valueOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Values of 16 KiB and more (alone, or in a batch) answered from their segments as they are ({@link InPlaceAnswer}), on a master whose read
 * leases last 2 s: a caller that reads gets its bytes and the lease back; one that stops reading gets nothing the
 * master would send past half its lease, and loses its connection when it reads again, so no byte of a range that may
 * have been reused reaches it. (Without the check {@link LeasedRegion} makes before each send, it received another
 * object's bytes in the middle of answer 63. The first design closed the connection from a timer instead; in one full
 * unit run of twenty-odd the timer came too late, with the same result.)
 */
@QuarkusTest
@TestProfile(InPlaceAnswerTest.ShortLeases.class)
class InPlaceAnswerTest {
    private static final int VALUE_BYTES = 64 << 10;

    public static class ShortLeases implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("crescent.master.lease-ttl", "2s");
        }
    }

    @TestHTTPResource("/")
    URL service;

    @Test
    void aValueSentFromItsSegmentArrivesWholeAndGivesItsLeaseBack() throws IOException {
        byte[] value = randomBytes(VALUE_BYTES, 11);
        try (Socket socket = connected(service, 0)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            put(in, out, "in-place/read", value);
            for (int call = 0; call < 20; call++) {
                send(out, getMethod(), call, getAsBytes("in-place/read", VALUE_BYTES));
                MasterWireProtocolTest.Answer got = read(in);
                assertEquals(0, got.code(), got.message());
                GetReplicaListResponse location = GetReplicaListResponse.parseFrom(got.payload());
                assertEquals(VALUE_BYTES, location.getSize());
                assertArrayEquals(value, valueOf(got), "read " + call);
            }
            // Every lease is back once its answer is out: an unforced remove, which a lease held on refuses, passes
            // well within the leases' 2 s.
            send(
                    out,
                    MasterWire.id(MasterServiceGrpc.getRemoveMethod()),
                    99,
                    RemoveRequest.newBuilder().setKey("in-place/read").build().toByteArray());
            MasterWireProtocolTest.Answer removed = read(in);
            assertEquals(0, removed.code(), removed.message());
        }
    }

    /**
     * Large values are sent from their segments under read leases; small ones copied under their keys into pooled
     * memory, sent from there once they add up to 64 KiB ({@link InPlaceAnswer#LEAST_TOTAL}), copied into the frame
     * below that (on the direct listener, copied into its answer buffer from memory the connection reuses call after
     * call). Each way the batch arrives whole, and no lease is left held.
     */
    @ParameterizedTest(name = "{0} values of {1} bytes on the {2}")
    @CsvSource({"3, 65536, port", "20, 4096, port", "3, 4096, port", "20, 4096, direct-port", "3, 4096, direct-port"})
    void aBatchSentFromItsSegmentsArrivesWholeBesideARefusalAndGivesItsLeasesBack(int count, int size, String listener)
            throws IOException {
        String prefix = "in-place/batch/" + listener + "/" + count + "x" + size + "/";
        List<String> keys = new ArrayList<>();
        Map<String, byte[]> values = new HashMap<>();
        try (Socket socket = connected(service, 0, listener)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            for (int i = 0; i < count; i++) {
                byte[] value = randomBytes(size - i * (size / 64), 20 + i);
                values.put(prefix + i, value);
                put(in, out, prefix + i, value);
                keys.add(prefix + i);
                if (i == 0) {
                    keys.add(prefix + "none");
                }
            }
            for (int call = 0; call < 20; call++) {
                send(
                        out,
                        MasterWire.id(MasterServiceGrpc.getBatchGetReplicaListMethod()),
                        call,
                        BatchKeysRequest.newBuilder()
                                .addAllKeys(keys)
                                .setAcceptInline(VALUE_BYTES)
                                .build()
                                .toByteArray());
                MasterWireProtocolTest.Answer got = read(in);
                assertEquals(0, got.code(), got.message());
                BatchGetReplicaListResponse batch = BatchGetReplicaListResponse.parseFrom(got.payload());
                assertEquals(keys.size(), batch.getItemsCount());
                for (int i = 0; i < keys.size(); i++) {
                    BatchGetReplicaListItem item = batch.getItems(i);
                    assertEquals(keys.get(i), item.getStatus().getKey());
                    byte[] expected = values.get(keys.get(i));
                    if (expected == null) {
                        assertTrue(item.getStatus().getCode() != 0, "the missing key is refused");
                    } else {
                        assertArrayEquals(
                                expected, item.getLocation().getValue().toByteArray(), keys.get(i) + ", read " + call);
                    }
                }
            }
            for (int i = 0; i < count; i++) { // unforced: refused while a read lease is held
                send(
                        out,
                        MasterWire.id(MasterServiceGrpc.getRemoveMethod()),
                        100 + i,
                        RemoveRequest.newBuilder().setKey(prefix + i).build().toByteArray());
                MasterWireProtocolTest.Answer removed = read(in);
                assertEquals(0, removed.code(), removed.message());
            }
        }
    }

    @Test
    void aCallerThatStopsReadingGetsNoByteSentPastHalfItsLease() throws Exception {
        byte[] value = randomBytes(VALUE_BYTES, 12);
        try (Socket stalled = connected(service, 64 << 10);
                Socket other = connected(service, 0)) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(stalled.getInputStream(), 1 << 20));
            DataOutputStream out = new DataOutputStream(stalled.getOutputStream());
            DataInputStream otherIn = new DataInputStream(new BufferedInputStream(other.getInputStream()));
            DataOutputStream otherOut = new DataOutputStream(other.getOutputStream());
            put(otherIn, otherOut, "in-place/stalled", value);

            // 1,000 reads at once, none of their answers read: the master sends until the sockets' buffers are full,
            // and the rest of the answer it was sending waits, its bytes still in the segment.
            ByteArrayOutputStream requests = new ByteArrayOutputStream();
            for (int call = 0; call < 1_000; call++) {
                send(new DataOutputStream(requests), getMethod(), call, getAsBytes("in-place/stalled", VALUE_BYTES));
            }
            out.write(requests.toByteArray());
            out.flush();

            // Past the lease the object may go, and its range hold other bytes: the value is removed, and its range
            // refilled by objects of other bytes until it must have been reused.
            Thread.sleep(2_500);
            send(
                    otherOut,
                    MasterWire.id(MasterServiceGrpc.getRemoveMethod()),
                    1,
                    RemoveRequest.newBuilder()
                            .setKey("in-place/stalled")
                            .build()
                            .toByteArray());
            MasterWireProtocolTest.Answer removed = read(otherIn);
            assertEquals(0, removed.code(), "the lease is over: " + removed.message());
            byte[] refill = new byte[VALUE_BYTES];
            Arrays.fill(refill, (byte) 0x5A);
            for (int i = 0; i < 64; i++) {
                put(otherIn, otherOut, "in-place/refill/" + i, refill);
            }

            // What reached the stalled caller: whole answers carrying the value, then possibly part of one, then the
            // end of the stream. Not one byte of another object.
            int whole = 0;
            byte[] frame = new byte[VALUE_BYTES + 256];
            while (true) {
                int length = readInt(in);
                if (length < 0) {
                    break;
                }
                int got = readUpTo(in, frame, length);
                byte[] valueBytes = valueBytesOf(frame, got);
                assertArrayEquals(
                        Arrays.copyOf(value, valueBytes.length),
                        valueBytes,
                        "answer " + whole + ": the value's bytes, not another object's");
                if (got < length) {
                    break;
                }
                whole++;
            }
            assertTrue(whole > 0 && whole < 1_000, whole + " whole answers before the connection closed");
        }
    }

    private static int getMethod() {
        return MasterWire.id(MasterServiceGrpc.getGetReplicaListMethod());
    }

    private static void put(DataInputStream in, DataOutputStream out, String key, byte[] value) throws IOException {
        send(out, MasterWire.id(MasterServiceGrpc.getPutStartMethod()), 0, putWithBytes(key, value));
        MasterWireProtocolTest.Answer put = read(in);
        assertEquals(0, put.code(), put.message());
        assertTrue(PutStartResponse.parseFrom(put.payload()).getCommitted(), "the master took the bytes inline");
    }

    /** The next frame's length, or -1 when the stream ends (or is reset) before one. */
    private static int readInt(DataInputStream in) throws IOException {
        try {
            return in.readInt();
        } catch (EOFException | SocketException ended) {
            return -1;
        }
    }

    /** Reads up to {@code length} bytes into {@code into}; how many came before the stream ended. */
    private static int readUpTo(InputStream in, byte[] into, int length) throws IOException {
        int got = 0;
        try {
            while (got < length) {
                int n = in.read(into, got, length - got);
                if (n < 0) {
                    break;
                }
                got += n;
            }
        } catch (SocketException reset) {
            // the connection was closed with bytes unsent: what came is what counts
        }
        return got;
    }

    /**
     * The value's bytes among the first {@code got} bytes of an answer frame (call id, code, then a location whose value
     * is its last field, after which nothing follows).
     */
    private static byte[] valueBytesOf(byte[] frame, int got) throws IOException {
        CodedInputStream location =
                CodedInputStream.newInstance(frame, MasterWire.RESPONSE_HEADER, got - MasterWire.RESPONSE_HEADER);
        while (true) {
            int tag = location.readTag();
            if (WireFormat.getTagFieldNumber(tag) == GetReplicaListResponse.VALUE_FIELD_NUMBER) {
                location.readRawVarint32(); // the value's length
                int start = MasterWire.RESPONSE_HEADER + location.getTotalBytesRead();
                return Arrays.copyOfRange(frame, start, got);
            }
            location.skipField(tag);
        }
    }
}
