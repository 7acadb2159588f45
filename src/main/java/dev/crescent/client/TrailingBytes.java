package dev.crescent.client;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The entries of a request's {@code bytes} field (one, or a repeated field's in order), kept out of the protobuf
 * message and written from the caller's memory straight into the request frame. A message's encoding is the
 * concatenation of its fields in any order, so the entries may follow the rest of the message; protobuf itself
 * would first copy off-heap bytes into a fresh array of their own (measured: half the client's CPU in 4 KiB batch
 * puts carrying their bytes).
 */
record TrailingBytes(int field, List<MemorySegment> entries) {
    static final TrailingBytes NONE = new TrailingBytes(0, List.of());

    int encodedSize() {
        long size = 0;
        for (MemorySegment entry : entries) {
            size += CodedOutputStream.computeTagSize(field)
                    + CodedOutputStream.computeUInt32SizeNoTag((int) entry.byteSize())
                    + entry.byteSize();
        }
        return Math.toIntExact(size);
    }

    void writeTo(CodedOutputStream out) throws IOException {
        for (MemorySegment entry : entries) {
            out.writeTag(field, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag((int) entry.byteSize());
            if (entry.byteSize() > 0) {
                out.writeRawBytes(entry.asByteBuffer());
            }
        }
    }
}
