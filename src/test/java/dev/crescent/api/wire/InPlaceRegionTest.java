package dev.crescent.api.wire;

import com.google.protobuf.MessageLite;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.proto.BatchGetReplicaListItem;
import dev.crescent.protocol.proto.BatchGetReplicaListResponse;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.KeyStatus;
import dev.crescent.protocol.proto.ReplicaDescriptor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.crescent.api.wire.LentAnswerTest.found;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An answer whose lent values are sent from their segments ({@link InPlaceAnswer}, {@link LeasedRegion}) must put on
 * the wire exactly the frame the copying writer ({@link LentAnswer}) makes, however the socket takes it; hold the
 * values' leases until it is released; and send nothing once half the shortest lease is gone.
 */
class InPlaceRegionTest {
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void aBatchSentFromItsSegmentsIsTheFrameItsCopyWouldBeAndKeepsItsLeasesUntilSent() throws IOException {
        long deadline = System.currentTimeMillis() + 60_000;
        BatchGetReplicaListResponse batch = BatchGetReplicaListResponse.newBuilder()
                .addItems(found("a", location(70_000, deadline)))
                .addItems(BatchGetReplicaListItem.newBuilder()
                        .setStatus(KeyStatus.newBuilder().setKey("b").setCode(3).setMessage("not found")))
                .addItems(found("c", location(20_000, deadline)))
                .addItems(found(
                        "d",
                        location(4096, deadline).toBuilder()
                                .addReplicas(ReplicaDescriptor.newBuilder().setSegment("s"))
                                .build()))
                .build();
        Lending lending = new Lending();
        lending.lend(0, segment(70_000, 1));
        lending.lend(2, segment(20_000, 2));
        AtomicBoolean leasesBack = new AtomicBoolean();
        lending.until(() -> leasesBack.set(true));
        byte[] expected = copied(7, batch, lending);

        LeasedRegion region = InPlaceAnswer.regionOf(ALLOC, 7, batch, lending);
        assertNotNull(region, "values of 45,000 bytes on average are sent in place");
        lending.end(); // the call is over; its answer is not sent yet
        assertFalse(leasesBack.get(), "the leases are held while the values are still to be sent");
        byte[] sent = drain(region, 1000);
        assertArrayEquals(expected, sent);
        region.release();
        assertTrue(leasesBack.get(), "sent and released: the leases go back");
    }

    @Test
    void aLargeValueOrManySmallOnesAreSentInPlaceAndAFewSmallOnesCopied() throws IOException {
        long deadline = System.currentTimeMillis() + 60_000;
        GetReplicaListResponse single = location(16 << 10, deadline);
        Lending one = new Lending();
        one.lend(0, segment(16 << 10, 3));
        LeasedRegion region = InPlaceAnswer.regionOf(ALLOC, 1, single, one);
        assertNotNull(region);
        assertArrayEquals(copied(1, single, one), drain(region, 5000));
        region.release();

        // 4 KiB values, just under 64 KiB in all: each piece would cost more than its copy.
        BatchGetReplicaListResponse.Builder batch = BatchGetReplicaListResponse.newBuilder();
        Lending small = new Lending();
        for (int i = 0; i < 15; i++) {
            batch.addItems(found("k" + i, location(4096, deadline)));
            small.lend(i, segment(4096, i));
        }
        assertNull(InPlaceAnswer.regionOf(ALLOC, 2, batch.build(), small));

        // One more makes 64 KiB: a frame to copy them into would be as large, so they are sent as they are.
        batch.addItems(found("k15", location(4096, deadline)));
        small.lend(15, segment(4096, 15));
        LeasedRegion many = InPlaceAnswer.regionOf(ALLOC, 3, batch.build(), small);
        assertNotNull(many);
        assertArrayEquals(copied(3, batch.build(), small), drain(many, 5000));
        many.release();
    }

    @Test
    void nothingIsSentOnceHalfTheShortestLeaseIsGone() throws Exception {
        long now = System.currentTimeMillis();
        BatchGetReplicaListResponse batch = BatchGetReplicaListResponse.newBuilder()
                .addItems(found("long", location(64 << 10, now + 60_000)))
                .addItems(found("short", location(64 << 10, now + 400)))
                .build();
        Lending lending = new Lending();
        lending.lend(0, segment(64 << 10, 4));
        lending.lend(1, segment(64 << 10, 5));
        LeasedRegion region = InPlaceAnswer.regionOf(ALLOC, 3, batch, lending);
        assertNotNull(region);
        Collecting channel = new Collecting(1000);
        region.transferTo(channel, 0);
        Thread.sleep(250); // past half of the short lease's 400 ms
        IOException refused = assertThrows(IOException.class, () -> region.transferTo(channel, 0));
        assertTrue(refused.getMessage().contains("half its read lease"), refused.getMessage());
        assertEquals(1000, channel.bytes.size(), "nothing more was sent");
        region.release();
    }

    /** The frame as the copying writer makes it. */
    private static byte[] copied(int callId, MessageLite answer, Lending lending) throws IOException {
        ByteBuf frame = LentAnswer.frame(
                ALLOC, callId, LentAnswer.size(answer, lending), 0, out -> LentAnswer.writeTo(answer, lending, out));
        byte[] bytes = new byte[frame.readableBytes()];
        frame.readBytes(bytes);
        frame.release();
        return bytes;
    }

    /** Everything the region sends through a socket that takes at most {@code perWrite} bytes a call. */
    private static byte[] drain(LeasedRegion region, int perWrite) throws IOException {
        Collecting channel = new Collecting(perWrite);
        while (region.transferred() < region.count()) {
            region.transferTo(channel, region.transferred());
        }
        return channel.bytes.toByteArray();
    }

    private MemorySegment segment(int size, int seed) {
        byte[] bytes = new byte[size];
        new Random(seed).nextBytes(bytes);
        return arena.allocate(size).copyFrom(MemorySegment.ofArray(bytes));
    }

    private static GetReplicaListResponse location(long size, long leaseDeadline) {
        return GetReplicaListResponse.newBuilder()
                .setSize(size)
                .setLeaseDeadlineMs(leaseDeadline)
                .setCrc32C(12345)
                .setVersion(9)
                .build();
    }

    /** A socket that takes at most {@code perWrite} bytes per call, from as many buffers as it is given. */
    private static final class Collecting implements GatheringByteChannel {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final int perWrite;

        Collecting(int perWrite) {
            this.perWrite = perWrite;
        }

        @Override
        public long write(ByteBuffer[] sources, int offset, int length) {
            int taken = 0;
            for (int i = offset; i < offset + length && taken < perWrite; i++) {
                int n = Math.min(sources[i].remaining(), perWrite - taken);
                byte[] chunk = new byte[n];
                sources[i].get(chunk);
                bytes.writeBytes(chunk);
                taken += n;
            }
            return taken;
        }

        @Override
        public long write(ByteBuffer[] sources) {
            return write(sources, 0, sources.length);
        }

        @Override
        public int write(ByteBuffer source) {
            return (int) write(new ByteBuffer[] {source});
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }
}
