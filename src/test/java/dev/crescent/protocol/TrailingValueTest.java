package dev.crescent.protocol;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.crescent.protocol.proto.BatchPutStartRequest;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.ReplicaDescriptor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Finding an answer's last field, the value, in the bytes it was read into. */
class TrailingValueTest {
    private static final int VALUE = GetReplicaListResponse.VALUE_FIELD_NUMBER;
    /** Before the message: the frame's header, as in a connection's read buffer. */
    private static final int AT = 12;

    /** Every kind of field before the value: 64-bit varints, fixed32 and fixed64, nested messages. */
    private static final GetReplicaListResponse HEAD = GetReplicaListResponse.newBuilder()
            .setSize(1L << 40)
            .setLeaseDeadlineMs(1_780_000_000_000L)
            .setCrc32C(-7)
            .setLeaseId(0x8000_0000_0000_0001L)
            .addReplicas(ReplicaDescriptor.newBuilder().setSegment("segment").setOffset(1L << 33))
            .build();

    @Test
    void aValueWrittenLastIsFoundAndTheRestParsesAsTheMessageWithoutIt() throws IOException {
        ByteString value = ByteString.copyFrom(new byte[70_000]).concat(ByteString.copyFromUtf8("end"));
        ByteBuffer in = framed(HEAD, value);
        TrailingValue found = TrailingValue.find(in, AT, in.limit(), VALUE);
        assertNotNull(found);
        assertEquals(HEAD.getSerializedSize(), found.headBytes());
        assertEquals(value, ByteString.copyFrom(in.slice(found.valueAt(), found.valueBytes())));
        assertEquals(HEAD, GetReplicaListResponse.parseFrom(in.slice(AT, found.headBytes())));
    }

    /**
     * A request larger than the read buffer is split while its value is still arriving: found once the fields before
     * the value are in (whatever of the value has come), and not while any of them is still missing.
     */
    @Test
    void aValueStillArrivingIsFoundOnceTheFieldsBeforeItAreIn() throws IOException {
        ByteString value = ByteString.copyFrom(new byte[70_000]);
        ByteBuffer whole = framed(HEAD, value);
        int end = whole.limit();
        int valueAt = end - value.size();
        for (int arrived : new int[] {valueAt, valueAt + 1, valueAt + 5000}) {
            TrailingValue found = TrailingValue.find(whole.limit(arrived), AT, end, VALUE);
            assertNotNull(found, arrived + " bytes in");
            assertEquals(HEAD.getSerializedSize(), found.headBytes());
            assertEquals(valueAt, found.valueAt());
            assertEquals(value.size(), found.valueBytes());
        }
        for (int arrived = AT; arrived < valueAt; arrived++) {
            assertNull(TrailingValue.find(whole.limit(arrived), AT, end, VALUE), arrived + " bytes in");
        }
    }

    @Test
    void aValueAloneIsFound() throws IOException {
        ByteString value = ByteString.copyFromUtf8("v");
        ByteBuffer in = framed(GetReplicaListResponse.getDefaultInstance(), value);
        TrailingValue found = TrailingValue.find(in, AT, in.limit(), VALUE);
        assertNotNull(found);
        assertEquals(0, found.headBytes());
        assertEquals(value, ByteString.copyFrom(in.slice(found.valueAt(), found.valueBytes())));
    }

    /** protobuf writes fields in number order: a version (7) after the value leaves the answer to be parsed whole. */
    @Test
    void aValueFollowedByAnotherFieldIsNotSplitOff() {
        GetReplicaListResponse answer = HEAD.toBuilder()
                .setValue(ByteString.copyFromUtf8("value"))
                .setVersion(9)
                .build();
        ByteBuffer in = ByteBuffer.allocateDirect(AT + answer.getSerializedSize());
        in.position(AT).put(answer.toByteArray()).flip();
        assertNull(TrailingValue.find(in, AT, in.limit(), VALUE));
    }

    @Test
    void noValueAnEmptyOneOrAnotherFieldLastFindsNothing() throws IOException {
        ByteBuffer none = framed(HEAD, null);
        assertNull(TrailingValue.find(none, AT, none.limit(), VALUE));
        ByteBuffer empty = framed(HEAD, ByteString.EMPTY);
        assertNull(TrailingValue.find(empty, AT, empty.limit(), VALUE), "an empty value reads as none, as before");
        ByteBuffer other = framed(HEAD, ByteString.copyFromUtf8("value"));
        assertNull(TrailingValue.find(other, AT, other.limit(), VALUE + 1));
    }

    /** A malformed answer is left to protobuf, which says what is wrong with it. */
    @Test
    void aLengthPastTheEndOrAnUnfinishedVarintFindsNothing() throws IOException {
        ByteBuffer in = framed(HEAD, ByteString.copyFromUtf8("value"));
        assertNull(TrailingValue.find(in, AT, in.limit() - 1, VALUE), "a value cut short");
        ByteBuffer varint = ByteBuffer.allocateDirect(AT + 3);
        varint.position(AT).put((byte) 0x08).put((byte) 0x80).put((byte) 0x80).flip(); // size: a varint never ended
        assertNull(TrailingValue.find(varint, AT, varint.limit(), VALUE));
        ByteBuffer huge = ByteBuffer.allocateDirect(AT + 7);
        huge.position(AT).put((byte) 0x32); // field 6, length-delimited, of more bytes than an int holds
        huge.put(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F})
                .put((byte) 1)
                .flip();
        assertNull(TrailingValue.find(huge, AT, huge.limit(), VALUE));
    }

    /**
     * A batch whose values are its last fields, as it says (values_last): split before its first entry once the
     * fields before it are in, whatever of the entries has come; the head parses as the batch without its values.
     */
    @Test
    void aBatchsValuesPromisedLastAreFoundFromTheirFirstEntry() throws IOException {
        BatchPutStartRequest head = BatchPutStartRequest.newBuilder()
                .setClientId("writer")
                .addKeys("a")
                .addKeys("b")
                .addSizes(70_000)
                .addSizes(0)
                .addCrc32Cs(-1)
                .addCrc32Cs(-1)
                .setWriterHost("host")
                .setValuesLast(true)
                .build();
        ByteBuffer whole = batch(head, entries(ByteString.copyFrom(new byte[70_000]), ByteString.EMPTY));
        int end = whole.limit();
        int firstAt = AT + head.getSerializedSize();
        for (int arrived : new int[] {firstAt + 4, firstAt + 5000, end}) { // its tag and length (4 bytes) are in
            TrailingValue found = firstOfLast(whole.limit(arrived), end);
            assertNotNull(found, arrived + " bytes in");
            assertEquals(head.getSerializedSize(), found.headBytes());
            assertEquals(firstAt, found.valueAt(), "from the first entry's tag");
            assertEquals(end - firstAt, found.valueBytes());
            assertEquals(head, BatchPutStartRequest.parseFrom(whole.slice(AT, found.headBytes())));
        }
        for (int arrived = AT; arrived < firstAt + 4; arrived++) {
            assertNull(firstOfLast(whole.limit(arrived), end), arrived + " bytes in");
        }
    }

    /** Without the promise, or with it withdrawn before the values, a batch is left to be read whole and parsed. */
    @Test
    void aBatchThatDoesNotSayItsValuesAreLastIsNotSplit() throws IOException {
        BatchPutStartRequest.Builder head =
                BatchPutStartRequest.newBuilder().addKeys("a").addSizes(5);
        ByteString value = ByteString.copyFromUtf8("value");
        ByteBuffer unsaid = batch(head.build(), entries(value));
        assertNull(firstOfLast(unsaid, unsaid.limit()));
        ByteString withdrawn = ByteString.copyFrom(new byte[] {0x58, 0}); // values_last (11) = false, after true
        ByteBuffer said = batch(head.setValuesLast(true).build(), withdrawn.concat(entries(value)));
        assertNull(firstOfLast(said, said.limit()), "the last flag before the values wins, as when parsed");
        ByteBuffer none = batch(head.build(), ByteString.EMPTY);
        assertNull(firstOfLast(none, none.limit()), "promised, but no values");
    }

    private static TrailingValue firstOfLast(ByteBuffer in, int end) {
        return TrailingValue.firstOfLast(
                in, AT, end, BatchPutStartRequest.VALUES_FIELD_NUMBER, BatchPutStartRequest.VALUES_LAST_FIELD_NUMBER);
    }

    /** {@code values} encoded as a batch's values' entries, as clients write them after the rest. */
    private static ByteString entries(ByteString... values) throws IOException {
        ByteString.Output out = ByteString.newOutput();
        CodedOutputStream coded = CodedOutputStream.newInstance(out);
        for (ByteString value : values) {
            coded.writeBytes(BatchPutStartRequest.VALUES_FIELD_NUMBER, value);
        }
        coded.flush();
        return out.toByteString();
    }

    /** {@code head}'s encoding followed by {@code tail}, as in a connection's read buffer. */
    private static ByteBuffer batch(BatchPutStartRequest head, ByteString tail) {
        ByteBuffer in = ByteBuffer.allocateDirect(AT + head.getSerializedSize() + tail.size());
        in.position(AT).put(head.toByteArray()).put(tail.asReadOnlyByteBuffer());
        return in.flip();
    }

    /** {@code head}'s encoding followed by {@code value} as field 6 (none if null), as the master writes a get's answer. */
    private static ByteBuffer framed(GetReplicaListResponse head, ByteString value) throws IOException {
        int valueSize = value == null ? 0 : CodedOutputStream.computeBytesSize(VALUE, value);
        ByteBuffer in = ByteBuffer.allocateDirect(AT + head.getSerializedSize() + valueSize);
        CodedOutputStream out = CodedOutputStream.newInstance(in.position(AT));
        head.writeTo(out);
        if (value != null) {
            out.writeBytes(VALUE, value);
        }
        out.flush();
        return in.flip();
    }
}
