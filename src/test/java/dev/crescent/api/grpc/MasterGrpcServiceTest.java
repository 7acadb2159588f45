package dev.crescent.api.grpc;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.BatchPutStartRequest;
import dev.crescent.protocol.proto.BatchPutStartResponse;
import dev.crescent.protocol.proto.Empty;
import dev.crescent.protocol.proto.GetReplicaListRequest;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.HeartbeatRequest;
import dev.crescent.protocol.proto.HeartbeatResponse;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.KeyStatus;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.MountSegmentRequest;
import dev.crescent.protocol.proto.PutEndRequest;
import dev.crescent.protocol.proto.PutRevokeRequest;
import dev.crescent.protocol.proto.PutStartRequest;
import dev.crescent.protocol.proto.PutStartResponse;
import dev.crescent.protocol.proto.RemountSegmentsRequest;
import dev.crescent.protocol.proto.RemoveRequest;
import dev.crescent.protocol.proto.ReplicaConfig;
import dev.crescent.protocol.proto.SegmentSpec;
import dev.crescent.protocol.proto.UnmountSegmentRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MasterService over real gRPC on the HTTP port of the standalone service. */
@QuarkusTest
class MasterGrpcServiceTest {

    @GrpcClient("master")
    MasterServiceGrpc.MasterServiceBlockingStub master;

    @Test
    void twoPhasePutThenReplicaListExistAndRemove() {
        PutStartResponse started = master.putStart(PutStartRequest.newBuilder()
                .setClientId("grpc-a")
                .setKey("grpc/obj")
                .setSize(4096)
                .build());
        assertEquals(1, started.getReplicasCount());
        assertEquals(4096, started.getReplicas(0).getLength());
        assertFalse(master.exist(key("grpc/obj")).getExists(), "not readable before PutEnd");
        master.putEnd(PutEndRequest.newBuilder()
                .setClientId("grpc-a")
                .setKey("grpc/obj")
                .build());
        assertTrue(master.exist(key("grpc/obj")).getExists());
        GetReplicaListResponse list = master.getReplicaList(
                GetReplicaListRequest.newBuilder().setKey("grpc/obj").build());
        assertEquals(4096, list.getSize());
        assertEquals(
                started.getReplicasList(),
                list.getReplicasList().stream()
                        .map(r -> r.toBuilder().clearVersionSlot().build())
                        .toList(),
                "the same ranges (a replica list also says where each version word lies)");
        assertTrue(list.getLeaseDeadlineMs() > System.currentTimeMillis());
        master.remove(
                RemoveRequest.newBuilder().setKey("grpc/obj").setForce(true).build());
        assertFalse(master.exist(key("grpc/obj")).getExists());
    }

    @Test
    void errorsCarryTheStableCodeInTheTrailer() {
        assertCode(
                ErrorCode.OBJECT_NOT_FOUND,
                Status.Code.NOT_FOUND,
                () -> master.getReplicaList(GetReplicaListRequest.newBuilder()
                        .setKey("grpc/missing")
                        .build()));
        assertCode(ErrorCode.INVALID_KEY, Status.Code.INVALID_ARGUMENT, () -> master.exist(key("")));
        assertCode(
                ErrorCode.INVALID_PARAMS,
                Status.Code.INVALID_ARGUMENT,
                () -> master.putStart(PutStartRequest.newBuilder()
                        .setClientId("c")
                        .setKey("k0")
                        .setSize(0)
                        .build()));
        assertCode(
                ErrorCode.NO_AVAILABLE_HANDLE,
                Status.Code.RESOURCE_EXHAUSTED,
                () -> master.putStart(PutStartRequest.newBuilder()
                        .setClientId("c")
                        .setKey("grpc/huge")
                        .setSize(1L << 40)
                        .build()));

        master.putStart(PutStartRequest.newBuilder()
                .setClientId("owner")
                .setKey("grpc/owned")
                .setSize(10)
                .build());
        assertCode(
                ErrorCode.OBJECT_ALREADY_EXISTS,
                Status.Code.ALREADY_EXISTS,
                () -> master.putStart(PutStartRequest.newBuilder()
                        .setClientId("other")
                        .setKey("grpc/owned")
                        .setSize(10)
                        .build()));
        assertCode(
                ErrorCode.ILLEGAL_CLIENT,
                Status.Code.FAILED_PRECONDITION,
                () -> master.putEnd(PutEndRequest.newBuilder()
                        .setClientId("other")
                        .setKey("grpc/owned")
                        .build()));
        master.putRevoke(PutRevokeRequest.newBuilder()
                .setClientId("owner")
                .setKey("grpc/owned")
                .build());
        assertCode(
                ErrorCode.OBJECT_NOT_FOUND,
                Status.Code.NOT_FOUND,
                () -> master.putEnd(PutEndRequest.newBuilder()
                        .setClientId("owner")
                        .setKey("grpc/owned")
                        .build()));
    }

    @Test
    void segmentsMountIdempotentlyAndByOneOwner() {
        MountSegmentRequest mount = MountSegmentRequest.newBuilder()
                .setClientId("w-x")
                .setSegment("grpc-seg")
                .setCapacity(1 << 20)
                .build();
        master.mountSegment(mount);
        master.mountSegment(mount);
        assertCode(
                ErrorCode.SEGMENT_ALREADY_EXISTS,
                Status.Code.ALREADY_EXISTS,
                () -> master.mountSegment(mount.toBuilder().setClientId("w-y").build()));
        assertCode(
                ErrorCode.ILLEGAL_CLIENT,
                Status.Code.FAILED_PRECONDITION,
                () -> master.unmountSegment(UnmountSegmentRequest.newBuilder()
                        .setClientId("w-y")
                        .setSegment("grpc-seg")
                        .build()));
        master.unmountSegment(UnmountSegmentRequest.newBuilder()
                .setClientId("w-x")
                .setSegment("grpc-seg")
                .build());
        master.unmountSegment(UnmountSegmentRequest.newBuilder()
                .setClientId("w-x")
                .setSegment("grpc-seg")
                .build());
    }

    @Test
    void batchFormsAnswerOneStatusPerKeyOverTheWire() {
        var started = master.batchPutStart(BatchPutStartRequest.newBuilder()
                .setClientId("b")
                .addAllKeys(List.of("grpc/b1", "", "grpc/b2"))
                .addAllSizes(List.of(100L, 100L, 200L))
                .setConfig(ReplicaConfig.newBuilder().setReplicaNum(1).setSoftPin(true))
                .build());
        assertEquals(
                List.of(0, ErrorCode.INVALID_KEY.number(), 0),
                started.getItemsList().stream()
                        .map(i -> i.getStatus().getCode())
                        .toList());
        assertEquals(200, started.getItems(2).getReplicas(0).getLength());
        var ended = master.batchPutEnd(BatchKeysRequest.newBuilder()
                .setClientId("b")
                .addAllKeys(List.of("grpc/b1", "grpc/b2", "grpc/none"))
                .build());
        assertEquals(
                List.of(0, 0, ErrorCode.OBJECT_NOT_FOUND.number()),
                ended.getStatusesList().stream().map(KeyStatus::getCode).toList());
        assertEquals("object 'grpc/none' not found", ended.getStatuses(2).getMessage());
        var exist = master.batchExist(BatchKeysRequest.newBuilder()
                .addAllKeys(List.of("grpc/b2", "grpc/none"))
                .build());
        assertEquals(List.of(true, false), exist.getExistsList());
        var located = master.batchGetReplicaList(BatchKeysRequest.newBuilder()
                .addAllKeys(List.of("grpc/b1", "grpc/none"))
                .build());
        assertEquals(100, located.getItems(0).getLocation().getSize());
        assertEquals(
                ErrorCode.OBJECT_NOT_FOUND.number(),
                located.getItems(1).getStatus().getCode());
        var upserted = master.batchUpsertStart(BatchPutStartRequest.newBuilder()
                .setClientId("b")
                .addAllKeys(List.of("grpc/b1"))
                .addAllSizes(List.of(100L))
                .build());
        assertEquals(0, upserted.getItems(0).getStatus().getCode(), "upsert overwrites a complete object");
        master.putEnd(
                PutEndRequest.newBuilder().setClientId("b").setKey("grpc/b1").build());
        master.upsertStart(PutStartRequest.newBuilder()
                .setClientId("b")
                .setKey("grpc/b1")
                .setSize(100)
                .build());
        master.putEnd(
                PutEndRequest.newBuilder().setClientId("b").setKey("grpc/b1").build());
        var removed = master.batchRemove(BatchKeysRequest.newBuilder()
                .addAllKeys(List.of("grpc/b1", "grpc/b2"))
                .setForce(true)
                .build());
        assertEquals(
                List.of(0, 0),
                removed.getStatusesList().stream().map(KeyStatus::getCode).toList());
        assertCode(
                ErrorCode.INVALID_PARAMS,
                Status.Code.INVALID_ARGUMENT,
                () -> master.batchPutStart(BatchPutStartRequest.newBuilder()
                        .setClientId("b")
                        .addAllKeys(List.of("x", "y"))
                        .addSizes(1)
                        .build()));
    }

    @Test
    void heartbeatsAnswerNeedRemountForUnknownClientsAndRemountRestores() {
        assertEquals(
                HeartbeatResponse.Status.NEED_REMOUNT,
                master.heartbeat(HeartbeatRequest.newBuilder()
                                .setClientId("grpc-stranger")
                                .build())
                        .getStatus());
        master.remountSegments(RemountSegmentsRequest.newBuilder()
                .setClientId("grpc-stranger")
                .addSegments(SegmentSpec.newBuilder().setSegment("stranger-seg").setCapacity(1 << 20))
                .build());
        assertEquals(
                HeartbeatResponse.Status.OK,
                master.heartbeat(HeartbeatRequest.newBuilder()
                                .setClientId("grpc-stranger")
                                .build())
                        .getStatus());
        master.unmountSegment(UnmountSegmentRequest.newBuilder()
                .setClientId("grpc-stranger")
                .setSegment("stranger-seg")
                .build());
    }

    @Test
    void serviceReadyReportsTheRole() {
        var ready = master.serviceReady(Empty.getDefaultInstance());
        assertTrue(ready.getReady());
        assertEquals("standalone", ready.getRole());
    }

    @Test
    void aPutStartCarryingItsBytesIsCommittedAndAReaderThatAcceptsBytesGetsThem() {
        byte[] value = new byte[5000];
        java.util.Arrays.fill(value, (byte) 7);
        PutStartResponse started = master.putStart(PutStartRequest.newBuilder()
                .setClientId("grpc-inline")
                .setKey("grpc/inline")
                .setSize(value.length)
                .setValue(com.google.protobuf.ByteString.copyFrom(value))
                .build());
        assertTrue(started.getCommitted());
        assertEquals(0, started.getReplicasCount());
        assertTrue(master.exist(key("grpc/inline")).getExists(), "readable with no PutEnd");

        GetReplicaListResponse old = master.getReplicaList(
                GetReplicaListRequest.newBuilder().setKey("grpc/inline").build());
        assertTrue(old.getValue().isEmpty(), "a reader that does not ask gets replicas, as before");
        assertEquals(1, old.getReplicasCount());

        GetReplicaListResponse bytes = master.getReplicaList(GetReplicaListRequest.newBuilder()
                .setKey("grpc/inline")
                .setAcceptInline(1 << 20)
                .build());
        assertEquals(com.google.protobuf.ByteString.copyFrom(value), bytes.getValue());
        assertEquals(0, bytes.getReplicasCount());
        assertEquals(0, bytes.getLeaseId());
        master.remove(
                RemoveRequest.newBuilder().setKey("grpc/inline").setForce(true).build());
    }

    @Test
    void aPutStartWhoseBytesDisagreeWithItsSizeIsRefusedAndReservesNothing() {
        assertCode(
                ErrorCode.INVALID_PARAMS,
                Status.Code.INVALID_ARGUMENT,
                () -> master.putStart(PutStartRequest.newBuilder()
                        .setClientId("grpc-inline")
                        .setKey("grpc/liar")
                        .setSize(20)
                        .setValue(com.google.protobuf.ByteString.copyFrom(new byte[10]))
                        .build()));
        assertFalse(master.exist(key("grpc/liar")).getExists());
        master.putStart(PutStartRequest.newBuilder()
                .setClientId("grpc-inline")
                .setKey("grpc/liar")
                .setSize(10)
                .setValue(com.google.protobuf.ByteString.copyFrom(new byte[10]))
                .build());
        assertTrue(master.exist(key("grpc/liar")).getExists(), "the key was left free");
        master.remove(
                RemoveRequest.newBuilder().setKey("grpc/liar").setForce(true).build());
    }

    @Test
    void aBatchPutStartCarryingBytesCommitsThoseKeysAndRefusesALiarWhole() {
        byte[] value = new byte[3000];
        java.util.Arrays.fill(value, (byte) 9);
        var ok = com.google.protobuf.ByteString.copyFrom(value);
        BatchPutStartResponse started = master.batchPutStart(BatchPutStartRequest.newBuilder()
                .setClientId("grpc-inline")
                .addAllKeys(List.of("grpc/b1", "grpc/b2", "grpc/b3"))
                .addAllSizes(List.of(3000L, 3000L, 3000L))
                .addAllValues(List.of(ok, com.google.protobuf.ByteString.EMPTY, ok))
                .addAllCrc32Cs(List.of(-1L, -1L, -1L))
                .build());
        assertTrue(started.getItems(0).getCommitted());
        assertEquals(0, started.getItems(0).getReplicasCount());
        assertFalse(started.getItems(1).getCommitted(), "no bytes sent for this key: replicas to write");
        assertEquals(1, started.getItems(1).getReplicasCount());
        assertTrue(started.getItems(2).getCommitted());
        assertTrue(master.exist(key("grpc/b3")).getExists(), "readable with no PutEnd");
        assertFalse(master.exist(key("grpc/b2")).getExists());

        assertCode(
                ErrorCode.INVALID_PARAMS,
                Status.Code.INVALID_ARGUMENT,
                () -> master.batchPutStart(BatchPutStartRequest.newBuilder()
                        .setClientId("grpc-inline")
                        .addAllKeys(List.of("grpc/b4", "grpc/b5"))
                        .addAllSizes(List.of(3000L, 10L))
                        .addAllValues(List.of(ok, ok))
                        .build()));
        assertCode(
                ErrorCode.INVALID_PARAMS,
                Status.Code.INVALID_ARGUMENT,
                () -> master.batchPutStart(BatchPutStartRequest.newBuilder()
                        .setClientId("grpc-inline")
                        .addAllKeys(List.of("grpc/b4", "grpc/b5"))
                        .addAllSizes(List.of(3000L, 3000L))
                        .addAllValues(List.of(ok))
                        .build()));
        assertFalse(master.exist(key("grpc/b4")).getExists(), "a refused batch reserves nothing");
        master.batchPutRevoke(BatchKeysRequest.newBuilder()
                .setClientId("grpc-inline")
                .addKeys("grpc/b2")
                .build());
        master.batchRemove(BatchKeysRequest.newBuilder()
                .addAllKeys(List.of("grpc/b1", "grpc/b3"))
                .setForce(true)
                .build());
    }

    private static KeyRequest key(String key) {
        return KeyRequest.newBuilder().setKey(key).build();
    }

    private static void assertCode(ErrorCode code, Status.Code status, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(status, e.getStatus().getCode());
        StoreException decoded = GrpcErrors.fromStatus(e);
        assertEquals(code, decoded.code(), decoded.getMessage());
    }

    @io.quarkus.test.common.http.TestHTTPResource("/")
    java.net.URL service;

    @Test
    void aRequestThatIsNotAValidMessageAnswersInvalidArgumentWithACrescentCode() throws Exception {
        // D23 of the hardening issue: it failed INTERNAL with no crescent-code.
        io.grpc.MethodDescriptor.Marshaller<byte[]> raw = new io.grpc.MethodDescriptor.Marshaller<>() {
            @Override
            public java.io.InputStream stream(byte[] value) {
                return new java.io.ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(java.io.InputStream stream) {
                try {
                    return stream.readAllBytes();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        io.grpc.MethodDescriptor<byte[], byte[]> exist =
                MasterServiceGrpc.getExistMethod().toBuilder(raw, raw).build();
        io.grpc.ManagedChannel channel = io.grpc.ManagedChannelBuilder.forAddress(service.getHost(), service.getPort())
                .usePlaintext()
                .build();
        try {
            io.grpc.StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    io.grpc.StatusRuntimeException.class,
                    () -> io.grpc.stub.ClientCalls.blockingUnaryCall(
                            channel, exist, io.grpc.CallOptions.DEFAULT, new byte[] {(byte) 0xFF, (byte) 0xFF, 0x01}));
            assertEquals(
                    io.grpc.Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode(), refused.toString());
            assertEquals(
                    dev.crescent.common.ErrorCode.INVALID_PARAMS,
                    dev.crescent.protocol.GrpcErrors.fromStatus(refused).code());
        } finally {
            channel.shutdownNow();
        }
    }
}
