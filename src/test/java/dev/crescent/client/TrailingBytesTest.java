package dev.crescent.client;

import com.google.protobuf.CodedOutputStream;
import dev.crescent.protocol.proto.BatchPutStartRequest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request bytes a gathered write sends are the bytes of the frame written whole. */
class TrailingBytesTest {

    @Test
    void aGatheredFrameIsTheFrameWrittenWholeWithEveryEntryReadInPlace() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment offHeap = arena.allocate(70_000);
            for (long i = 0; i < offHeap.byteSize(); i++) {
                offHeap.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7));
            }
            MemorySegment onHeap = MemorySegment.ofArray(new byte[] {1, 2, 3});
            TrailingBytes trailing = new TrailingBytes(
                    BatchPutStartRequest.VALUES_FIELD_NUMBER, List.of(onHeap, MemorySegment.NULL, offHeap, onHeap));
            byte[] before = {9, 8, 7, 6, 5}; // what the frame holds ahead of the entries (header, message)

            ByteArrayOutputStream whole = new ByteArrayOutputStream();
            whole.write(before);
            CodedOutputStream out = CodedOutputStream.newInstance(whole);
            trailing.writeTo(out);
            out.flush();

            for (boolean direct : new boolean[] {false, true}) {
                int room = before.length + trailing.prefixesSize();
                ByteBuffer head = direct ? ByteBuffer.allocateDirect(room) : ByteBuffer.allocate(room);
                head.put(before);
                ByteBuffer[] parts = trailing.gathered(head);
                ByteArrayOutputStream sent = new ByteArrayOutputStream();
                for (ByteBuffer part : parts) {
                    byte[] bytes = new byte[part.remaining()];
                    part.duplicate().get(bytes);
                    sent.write(bytes);
                }
                assertArrayEquals(whole.toByteArray(), sent.toByteArray(), direct ? "direct head" : "heap head");
                assertEquals(before.length + trailing.encodedSize(), sent.size());
                // The off-heap entry is sent from where it lies, not from a copy in the frame.
                assertTrue(List.of(parts).stream()
                        .anyMatch(p -> p.isDirect() && MemorySegment.ofBuffer(p).address() == offHeap.address()));
            }
        }
    }
}
