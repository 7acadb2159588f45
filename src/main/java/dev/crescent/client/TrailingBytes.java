package dev.crescent.client;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * The entries of a request's {@code bytes} field (one, or a repeated field's in order), kept out of the protobuf
 * message and written from the caller's memory: gathered into the socket's write in place, or copied straight into
 * the request frame. A message's encoding is the concatenation of its fields in any order, so the entries may follow
 * the rest of the message; protobuf itself would first copy off-heap bytes into a fresh array of their own
 * (measured: half the client's CPU in 4 KiB batch puts carrying their bytes).
 */
record TrailingBytes(int field, List<MemorySegment> entries) {
    static final TrailingBytes NONE = new TrailingBytes(0, List.of());

    int encodedSize() {
        long size = prefixesSize();
        for (MemorySegment entry : entries) {
            size += entry.byteSize();
        }
        return Math.toIntExact(size);
    }

    /** The bytes of the entries' tags and lengths. */
    int prefixesSize() {
        int size = 0;
        for (MemorySegment entry : entries) {
            size += CodedOutputStream.computeTagSize(field)
                    + CodedOutputStream.computeUInt32SizeNoTag((int) entry.byteSize());
        }
        return size;
    }

    void writeTo(CodedOutputStream out) throws IOException {
        for (MemorySegment entry : entries) {
            writePrefix(out, entry);
            if (entry.byteSize() > 0) {
                out.writeRawBytes(entry.asByteBuffer());
            }
        }
    }

    /**
     * The frame as buffers to write in order, the entries' bytes where they lie: {@code head} holds the frame up to
     * its position; each entry's tag and length are written on into it (room for {@link #prefixesSize()} is the
     * caller's to leave), and the parts of {@code head} between them are slices of it.
     */
    ByteBuffer[] gathered(ByteBuffer head) throws IOException {
        if (entries.isEmpty()) {
            return new ByteBuffer[] {head.flip()};
        }
        ByteBuffer[] parts = new ByteBuffer[2 * entries.size() + 1];
        int count = 0;
        int start = head.position();
        CodedOutputStream out = CodedOutputStream.newInstance(head); // writes from the position on
        int from = 0;
        for (MemorySegment entry : entries) {
            writePrefix(out, entry);
            if (entry.byteSize() > 0) {
                int to = start + out.getTotalBytesWritten();
                parts[count++] = head.slice(from, to - from);
                parts[count++] = entry.asByteBuffer();
                from = to;
            }
        }
        out.flush();
        parts[count++] = head.slice(from, head.position() - from);
        return count == parts.length ? parts : Arrays.copyOf(parts, count);
    }

    private void writePrefix(CodedOutputStream out, MemorySegment entry) throws IOException {
        out.writeTag(field, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag((int) entry.byteSize());
    }
}
