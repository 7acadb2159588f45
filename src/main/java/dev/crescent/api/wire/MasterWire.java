package dev.crescent.api.wire;

import dev.crescent.api.grpc.proto.MasterServiceGrpc;
import io.grpc.MethodDescriptor;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The master's lean binary protocol: the calls of the gRPC {@code MasterService}, with the same protobuf messages,
 * framed directly on a TCP connection instead of HTTP/2. A gRPC round trip costs about 190 us of CPU on client and
 * server together (HTTP/2 frames, headers, executors, hand-offs between threads); a put makes two, a get one, so
 * on a small machine the control calls took a third of the CPU of a 1 MiB put. Here a call is one write and one
 * read on each side, and the caller's thread reads its own answer.
 *
 * <p>A connection starts as an HTTP/1.1 request on the master's HTTP port, {@code GET /v1/master-wire} with
 * {@code Connection: Upgrade} and {@code Upgrade: crescent-master/1} (and the caller's {@code X-Crescent-Node}); the
 * master answers {@code 101 Switching Protocols} and from then on both sides exchange frames, big-endian:
 * <pre>
 *   request:  u32 length | u8 method | u32 call id | protobuf request       (length counts what follows it)
 *   response: u32 length | u32 call id | s32 code | protobuf response, or the UTF-8 error message when code != 0
 * </pre>
 * The code is 0 or a Crescent error number. Answers may come out of order (a PutEnd answers when it is durable);
 * the call id pairs them. A frame that cannot be read closes the connection; a request that is well framed but
 * unknown or unparsable is answered INVALID_PARAMS and the connection stays. A master that does not speak it
 * answers the upgrade with something other than 101 and clients use gRPC instead.
 */
public final class MasterWire {
    public static final String PATH = "/v1/master-wire";
    public static final String UPGRADE = "crescent-master/1";
    public static final String NODE_HEADER = "X-Crescent-Node";
    /** The largest frame either side accepts (the gRPC server's inbound message limit). */
    public static final int MAX_FRAME = 64 << 20;
    /** Request bytes after the length: method id and call id. */
    public static final int REQUEST_HEADER = 5;
    /** Response bytes after the length: call id and code. */
    public static final int RESPONSE_HEADER = 8;

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
            MasterServiceGrpc.getServiceReadyMethod());
    private static final Map<MethodDescriptor<?, ?>, Integer> IDS = new IdentityHashMap<>();

    static {
        for (int i = 0; i < METHODS.size(); i++) {
            IDS.put(METHODS.get(i), i);
        }
    }

    private MasterWire() {
    }

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

    /** Every method the protocol carries, in id order. */
    public static List<MethodDescriptor<?, ?>> methods() {
        return METHODS;
    }
}
