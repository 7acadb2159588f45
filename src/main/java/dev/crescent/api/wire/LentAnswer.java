package dev.crescent.api.wire;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import com.google.protobuf.WireFormat;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.proto.BatchGetReplicaListItem;
import dev.crescent.protocol.proto.BatchGetReplicaListResponse;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * Encodes an answer together with the small objects' bytes lent to it ({@link Lending}), so each is copied once,
 * from its segment straight into the frame. Protobuf cannot do that itself: {@code UnsafeByteOperations.unsafeWrap}
 * copies a direct buffer into a fresh array (protobuf 4.35), which is the copy and the zeroing this saves. A lent
 * value is written as the last field of the location it belongs to ({@code GetReplicaListResponse.value}, whether
 * alone or inside a batch's item); protobuf reads fields in any order, so the reader parses an ordinary message.
 * An answer with nothing lent is encoded by protobuf as it is.
 */
final class LentAnswer {
    /** The bytes before an answer's body: its length, call id and code. */
    static final int HEADER = 4 + MasterWire.RESPONSE_HEADER;

    private static final int VALUE = GetReplicaListResponse.VALUE_FIELD_NUMBER;
    private static final int ITEMS = BatchGetReplicaListResponse.ITEMS_FIELD_NUMBER;
    private static final int STATUS = BatchGetReplicaListItem.STATUS_FIELD_NUMBER;
    private static final int LOCATION = BatchGetReplicaListItem.LOCATION_FIELD_NUMBER;

    private LentAnswer() {}

    /** The encoded size of {@code answer} with the bytes lent to it. */
    static int size(MessageLite answer, Lending lending) {
        return switch (answer) {
            case GetReplicaListResponse location -> locationSize(location, lending.lent(0));
            case BatchGetReplicaListResponse batch -> {
                int size = 0;
                for (int i = 0; i < batch.getItemsCount(); i++) {
                    size += CodedOutputStream.computeTagSize(ITEMS)
                            + delimitedSize(itemSize(batch.getItems(i), lending.lent(i)));
                }
                yield size;
            }
            default -> answer.getSerializedSize();
        };
    }

    /** What becomes of a lent value where the answer holds it. */
    @FunctionalInterface
    interface Values {
        /** Called once per lent value, in order, at the place of its bytes, after their tag and length. */
        void write(MemorySegment value, CodedOutputStream out) throws IOException;
    }

    /** Lent values copied into the answer: one bulk copy each, segment to frame. */
    static final Values COPIED = (value, out) -> out.write(value.asByteBuffer());

    /** Writes {@code answer} with the bytes lent to it: exactly {@link #size} bytes. */
    static void writeTo(MessageLite answer, Lending lending, CodedOutputStream out) throws IOException {
        writeTo(answer, lending, out, COPIED);
    }

    /**
     * Writes {@code answer} with its lent values handed to {@code values} where they belong: {@link #size} bytes,
     * less those of the lent values when {@code values} does not write them.
     */
    static void writeTo(MessageLite answer, Lending lending, CodedOutputStream out, Values values) throws IOException {
        switch (answer) {
            case GetReplicaListResponse location -> writeLocation(location, lending.lent(0), out, values);
            case BatchGetReplicaListResponse batch -> {
                for (int i = 0; i < batch.getItemsCount(); i++) {
                    writeItem(batch.getItems(i), lending.lent(i), out, values);
                }
            }
            default -> answer.writeTo(out);
        }
    }

    /** What was lent to an answer: the bytes in all, and how many values they make. */
    record Lent(long bytes, int values) {}

    /** The bytes lent to {@code answer}. */
    static Lent lent(MessageLite answer, Lending lending) {
        long bytes = 0;
        int values = 0;
        for (int i = 0; i < items(answer); i++) {
            MemorySegment value = lending.lent(i);
            if (value != null) {
                bytes += value.byteSize();
                values++;
            }
        }
        return new Lent(bytes, values);
    }

    /** The earliest lease deadline (ms since the epoch) of the locations with bytes lent to them. */
    static long leaseDeadline(MessageLite answer, Lending lending) {
        long deadline = Long.MAX_VALUE;
        for (int i = 0; i < items(answer); i++) {
            if (lending.lent(i) != null) {
                GetReplicaListResponse location = answer instanceof BatchGetReplicaListResponse batch
                        ? batch.getItems(i).getLocation()
                        : (GetReplicaListResponse) answer;
                deadline = Math.min(deadline, location.getLeaseDeadlineMs());
            }
        }
        return deadline;
    }

    /** The items of an answer that can carry lent bytes: 1 for a location, a batch's items, else 0. */
    private static int items(MessageLite answer) {
        return switch (answer) {
            case GetReplicaListResponse _ -> 1;
            case BatchGetReplicaListResponse batch -> batch.getItemsCount();
            default -> 0;
        };
    }

    private static int itemSize(BatchGetReplicaListItem item, MemorySegment value) {
        if (value == null) {
            return item.getSerializedSize();
        }
        return (item.hasStatus() ? CodedOutputStream.computeMessageSize(STATUS, item.getStatus()) : 0)
                + CodedOutputStream.computeTagSize(LOCATION)
                + delimitedSize(locationSize(item.getLocation(), value));
    }

    private static void writeItem(
            BatchGetReplicaListItem item, MemorySegment value, CodedOutputStream out, Values values)
            throws IOException {
        out.writeTag(ITEMS, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(itemSize(item, value));
        if (value == null) {
            item.writeTo(out);
            return;
        }
        if (item.hasStatus()) {
            out.writeMessage(STATUS, item.getStatus());
        }
        out.writeTag(LOCATION, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(locationSize(item.getLocation(), value));
        writeLocation(item.getLocation(), value, out, values);
    }

    private static int locationSize(GetReplicaListResponse location, MemorySegment value) {
        return location.getSerializedSize()
                + (value == null ? 0 : CodedOutputStream.computeTagSize(VALUE) + delimitedSize(length(value)));
    }

    private static void writeLocation(
            GetReplicaListResponse location, MemorySegment value, CodedOutputStream out, Values values)
            throws IOException {
        if (value == null) {
            location.writeTo(out);
            return;
        }
        writeHead(location, value, out);
        values.write(value, out);
    }

    /** What writes an answer's body. */
    @FunctionalInterface
    interface Body {
        void writeTo(CodedOutputStream out) throws IOException;
    }

    /**
     * A pooled direct frame of an answer: its length, call id and code 0, then the {@code size} bytes {@code body}
     * writes. The length counts {@code following} bytes more, sent after the frame as the rest of the same answer.
     */
    static ByteBuf frame(ByteBufAllocator alloc, int callId, int size, long following, Body body) throws IOException {
        ByteBuf frame = alloc.directBuffer(HEADER + size);
        try {
            write(frame.nioBuffer(0, HEADER + size), callId, size, following, body);
            frame.writerIndex(HEADER + size);
            return frame;
        } catch (IOException | RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    /**
     * Writes the frame {@link #frame} makes into {@code into}, from its position: exactly {@link #HEADER} plus
     * {@code size} bytes, which it must have room for. {@code into}'s position is left where it was.
     */
    static void write(ByteBuffer into, int callId, int size, long following, Body body) throws IOException {
        int at = into.position();
        into.putInt(at, Math.toIntExact(MasterWire.RESPONSE_HEADER + size + following))
                .putInt(at + 4, callId)
                .putInt(at + 8, 0);
        CodedOutputStream out = CodedOutputStream.newInstance(into.slice(at + HEADER, size));
        body.writeTo(out);
        out.checkNoSpaceLeft();
    }

    /** Writes a location up to its value's bytes: the location, then the value's tag and length. */
    private static void writeHead(GetReplicaListResponse location, MemorySegment value, CodedOutputStream out)
            throws IOException {
        location.writeTo(out);
        out.writeTag(VALUE, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(length(value));
    }

    /** A length-delimited field's length prefix and body. */
    private static int delimitedSize(int length) {
        return CodedOutputStream.computeUInt32SizeNoTag(length) + length;
    }

    private static int length(MemorySegment value) {
        return Math.toIntExact(value.byteSize());
    }
}
