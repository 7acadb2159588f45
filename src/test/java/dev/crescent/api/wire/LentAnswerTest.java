package dev.crescent.api.wire;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.proto.BatchGetReplicaListItem;
import dev.crescent.protocol.proto.BatchGetReplicaListResponse;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.KeyStatus;
import dev.crescent.protocol.proto.ReplicaDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The answers the master writes with bytes lent from segments must read, to any protobuf reader, as the messages
 * with those bytes set: same fields, each lent value in its own item, and exactly the size announced in the frame.
 */
class LentAnswerTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void aLocationWithLentBytesReadsAsTheLocationWithThoseBytes() throws IOException {
        MemorySegment bytes = segment(70_000, 1); // more than a one-byte length prefix, in native memory
        Lending lending = new Lending();
        lending.lend(0, bytes);
        GetReplicaListResponse answered = GetReplicaListResponse.parseFrom(encoded(location(5), lending));
        assertEquals(withValue(location(5), bytes), answered);
    }

    @Test
    void aBatchKeepsEachLentValueInItsOwnItemBesideRefusalsAndReplicaLists() throws IOException {
        MemorySegment first = segment(4096, 2);
        MemorySegment last = segment(300, 3);
        BatchGetReplicaListResponse batch = BatchGetReplicaListResponse.newBuilder()
                .addItems(found("a", location(1)))
                .addItems(BatchGetReplicaListItem.newBuilder()
                        .setStatus(KeyStatus.newBuilder().setKey("b").setCode(3).setMessage("not found")))
                .addItems(found(
                        "c",
                        location(2).toBuilder()
                                .addReplicas(ReplicaDescriptor.newBuilder()
                                        .setSegment("s")
                                        .setOffset(4096)
                                        .setLength(300))
                                .build()))
                .addItems(found("d", location(3)))
                .build();
        Lending lending = new Lending();
        lending.lend(0, first);
        lending.lend(3, last);
        BatchGetReplicaListResponse expected = batch.toBuilder()
                .setItems(0, found("a", withValue(location(1), first)))
                .setItems(3, found("d", withValue(location(3), last)))
                .build();
        assertEquals(expected, BatchGetReplicaListResponse.parseFrom(encoded(batch, lending)));
    }

    @Test
    void anAnswerWithNothingLentIsProtobufsOwnEncoding() throws IOException {
        GetReplicaListResponse plain = location(9);
        assertEquals(ByteBuffer.wrap(plain.toByteArray()), encoded(plain, new Lending()));
    }

    /** Encodes as the wire session does: into a direct buffer of exactly the announced size. */
    private static ByteBuffer encoded(MessageLite answer, Lending lending) throws IOException {
        ByteBuffer frame = ByteBuffer.allocateDirect(LentAnswer.size(answer, lending));
        CodedOutputStream out = CodedOutputStream.newInstance(frame);
        LentAnswer.writeTo(answer, lending, out);
        out.checkNoSpaceLeft(); // fails when the size announced and the bytes written differ
        out.flush(); // moves the buffer's position past what was written
        return frame.flip();
    }

    private static GetReplicaListResponse location(long version) {
        return GetReplicaListResponse.newBuilder()
                .setSize(4096)
                .setLeaseDeadlineMs(1_700_000_000_000L)
                .setCrc32C(12345)
                .setVersion(version)
                .build();
    }

    /** The location as protobuf itself encodes it with {@code bytes} as its value. */
    private static GetReplicaListResponse withValue(GetReplicaListResponse location, MemorySegment bytes) {
        return location.toBuilder()
                .setValue(ByteString.copyFrom(bytes.asByteBuffer()))
                .build();
    }

    /** A batch item: {@code key} found at {@code location}. */
    static BatchGetReplicaListItem found(String key, GetReplicaListResponse location) {
        return BatchGetReplicaListItem.newBuilder()
                .setStatus(KeyStatus.newBuilder().setKey(key))
                .setLocation(location)
                .build();
    }

    private MemorySegment segment(int size, int seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return arena.allocate(size).copyFrom(MemorySegment.ofArray(bytes));
    }
}
