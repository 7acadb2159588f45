package dev.crescent.protocol;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.UnsafeByteOperations;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import io.grpc.MethodDescriptor;

import java.nio.ByteBuffer;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The master's lean binary protocol: the calls of the gRPC {@code MasterService}, with the same protobuf messages,
 * framed directly on a TCP connection instead of HTTP/2. A gRPC round trip spends more CPU on HTTP/2 frames,
 * headers, executors and hand-offs between threads than the master spends on the call (figures in DESIGN.md
 * section 9). Here a call is one write and one read on each side, and the caller's thread reads its own answer.
 *
 * <p>The master listens on a port of its own and announces it on its HTTP port: {@code GET /v1/master-wire} answers
 * {@code {"port": N}} (404 when the master does not speak it: clients then use gRPC). A connection starts with a
 * hello frame holding the caller's node name, then both sides exchange frames, big-endian:
 * <pre>
 *   hello:    u32 length | UTF-8 node name (0 to 255 bytes; empty: none stated)
 *   request:  u32 length | u8 method | u32 call id | protobuf request       (length counts what follows it)
 *   response: u32 length | u32 call id | s32 code | protobuf response, or the UTF-8 error message when code != 0
 * </pre>
 * The code is 0 or a Crescent error number. Answers may come out of order (a PutEnd answers when it is durable);
 * the call id pairs them. A frame that cannot be read closes the connection; a request that is well framed but
 * unknown or unparsable is answered INVALID_PARAMS and the connection stays. It has a listener of its own rather than an
 * HTTP upgrade: Quarkus's graceful shutdown waits for upgraded requests (DESIGN.md section 9).
 *
 * <p>A caller on the master's host may also ask for a request ring ({@link #RING_OPEN}): a file in shared memory
 * whose slots carry request and answer payloads laid out as the frames' (method, call id, message; call id, code,
 * message), as that connection's caller, for as long as the connection stays open. The request's message is the
 * caller's host id (UTF-8), the answer's the ring file's path.
 *
 * <p>A master may also announce a direct listener ({@code direct-port}), which serves each connection with a thread
 * of its own, up to a number. It speaks first, one byte: {@link #DIRECT_SERVED}, after which the protocol is as
 * above; or {@link #DIRECT_FULL}, after which it closes the connection, and the caller connects to {@code port}.
 */
public final class MasterWire {
    public static final String PATH = "/v1/master-wire";
    /** The longest node name a hello may carry. */
    public static final int MAX_NODE_NAME_BYTES = 255;
    /** The largest frame either side accepts (the gRPC server's inbound message limit). */
    public static final int MAX_FRAME = 64 << 20;
    /** Request bytes after the length: method id and call id. */
    public static final int REQUEST_HEADER = 5;
    /** Response bytes after the length: call id and code. */
    public static final int RESPONSE_HEADER = 8;

    /** The first byte of a connection the direct listener serves. */
    public static final byte DIRECT_SERVED = 1;
    /** The only byte of a connection the direct listener has no room for. */
    public static final byte DIRECT_FULL = 0;

    /** The connection's own method that opens a request ring for it; not a MasterService method. */
    public static final int RING_OPEN = 255;

    /** The methods in wire order: a method's id is its index. Append only; ids are never reused. */
    private static final List<MethodDescriptor<?, ?>> METHODS = List.of(
            MasterServiceGrpc.getPutStartMethod(),
            MasterServiceGrpc.getUpsertStartMethod(),
            MasterServiceGrpc.getPutEndMethod(),
            MasterServiceGrpc.getPutRevokeMethod(),
            MasterServiceGrpc.getGetReplicaListMethod(),
            MasterServiceGrpc.getExistMethod(),
            MasterServiceGrpc.getRemoveMethod(),
            MasterServiceGrpc.getRemoveAllMethod(),
            MasterServiceGrpc.getBatchPutStartMethod(),
            MasterServiceGrpc.getBatchUpsertStartMethod(),
            MasterServiceGrpc.getBatchPutEndMethod(),
            MasterServiceGrpc.getBatchPutRevokeMethod(),
            MasterServiceGrpc.getBatchGetReplicaListMethod(),
            MasterServiceGrpc.getBatchExistMethod(),
            MasterServiceGrpc.getBatchRemoveMethod(),
            MasterServiceGrpc.getMountSegmentMethod(),
            MasterServiceGrpc.getUnmountSegmentMethod(),
            MasterServiceGrpc.getRemountSegmentsMethod(),
            MasterServiceGrpc.getHeartbeatMethod(),
            MasterServiceGrpc.getServiceReadyMethod(),
            MasterServiceGrpc.getReleaseLeasesMethod());

    private static final Map<MethodDescriptor<?, ?>, Integer> IDS = new IdentityHashMap<>();

    static {
        for (int i = 0; i < METHODS.size(); i++) {
            IDS.put(METHODS.get(i), i);
        }
    }

    private MasterWire() {}

    /** The wire id of a MasterService method. */
    public static int id(MethodDescriptor<?, ?> method) {
        Integer id = IDS.get(method);
        if (id == null) {
            throw new IllegalArgumentException(method.getFullMethodName() + " has no wire id");
        }
        return id;
    }

    /** The method with this wire id, or null. */
    public static MethodDescriptor<?, ?> method(int id) {
        return id >= 0 && id < METHODS.size() ? METHODS.get(id) : null;
    }

    /**
     * Parses a message from a frame's bytes, which the caller owns and never changes afterwards: its bytes fields
     * share them instead of being copied (a small object's value travels in one; the gRPC marshaller would copy it
     * twice). An unreadable message is INVALID_PARAMS.
     */
    public static <T> T parse(MethodDescriptor.Marshaller<T> marshaller, byte[] frame, int offset, int length) {
        return parse(marshaller, ByteBuffer.wrap(frame, offset, length));
    }

    /**
     * {@link #parse(MethodDescriptor.Marshaller, byte[], int, int)} of the bytes remaining in {@code frame}. Only a heap
     * buffer is parsed in place: protobuf (4.x) copies a direct one whole into a fresh array first.
     */
    @SuppressWarnings("unchecked")
    public static <T> T parse(MethodDescriptor.Marshaller<T> marshaller, ByteBuffer frame) {
        MessageLite prototype =
                (MessageLite) ((MethodDescriptor.PrototypeMarshaller<T>) marshaller).getMessagePrototype();
        // A wrapped ByteString's reader counts as reading immutable bytes, the condition for aliasing them.
        CodedInputStream in = UnsafeByteOperations.unsafeWrap(frame).newCodedInput();
        in.enableAliasing(true);
        try {
            return (T) prototype.getParserForType().parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "unreadable message: " + e.getMessage());
        }
    }

    /** Every method the protocol carries, in id order. */
    public static List<MethodDescriptor<?, ?>> methods() {
        return METHODS;
    }
}
