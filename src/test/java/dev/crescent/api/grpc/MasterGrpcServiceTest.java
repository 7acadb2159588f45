package dev.crescent.api.grpc;

import dev.crescent.api.grpc.proto.Empty;
import dev.crescent.api.grpc.proto.GetReplicaListRequest;
import dev.crescent.api.grpc.proto.GetReplicaListResponse;
import dev.crescent.api.grpc.proto.KeyRequest;
import dev.crescent.api.grpc.proto.MasterServiceGrpc;
import dev.crescent.api.grpc.proto.MountSegmentRequest;
import dev.crescent.api.grpc.proto.PutEndRequest;
import dev.crescent.api.grpc.proto.PutRevokeRequest;
import dev.crescent.api.grpc.proto.PutStartRequest;
import dev.crescent.api.grpc.proto.PutStartResponse;
import dev.crescent.api.grpc.proto.RemoveRequest;
import dev.crescent.api.grpc.proto.UnmountSegmentRequest;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

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
                .setClientId("grpc-a").setKey("grpc/obj").setSize(4096).build());
        assertEquals(1, started.getReplicasCount());
        assertEquals(4096, started.getReplicas(0).getLength());
        assertFalse(master.exist(key("grpc/obj")).getExists(), "not readable before PutEnd");
        master.putEnd(PutEndRequest.newBuilder().setClientId("grpc-a").setKey("grpc/obj").build());
        assertTrue(master.exist(key("grpc/obj")).getExists());
        GetReplicaListResponse list = master.getReplicaList(GetReplicaListRequest.newBuilder().setKey("grpc/obj").build());
        assertEquals(4096, list.getSize());
        assertEquals(started.getReplicasList(), list.getReplicasList());
        assertTrue(list.getLeaseDeadlineMs() > System.currentTimeMillis());
        master.remove(RemoveRequest.newBuilder().setKey("grpc/obj").setForce(true).build());
        assertFalse(master.exist(key("grpc/obj")).getExists());
    }

    @Test
    void errorsCarryTheStableCodeInTheTrailer() {
        assertCode(ErrorCode.OBJECT_NOT_FOUND, Status.Code.NOT_FOUND,
                () -> master.getReplicaList(GetReplicaListRequest.newBuilder().setKey("grpc/missing").build()));
        assertCode(ErrorCode.INVALID_KEY, Status.Code.INVALID_ARGUMENT,
                () -> master.exist(key("")));
        assertCode(ErrorCode.INVALID_PARAMS, Status.Code.INVALID_ARGUMENT,
                () -> master.putStart(PutStartRequest.newBuilder().setClientId("c").setKey("k0").setSize(0).build()));
        assertCode(ErrorCode.NO_AVAILABLE_HANDLE, Status.Code.RESOURCE_EXHAUSTED,
                () -> master.putStart(PutStartRequest.newBuilder().setClientId("c").setKey("grpc/huge")
                        .setSize(1L << 40).build()));

        master.putStart(PutStartRequest.newBuilder().setClientId("owner").setKey("grpc/owned").setSize(10).build());
        assertCode(ErrorCode.OBJECT_ALREADY_EXISTS, Status.Code.ALREADY_EXISTS,
                () -> master.putStart(PutStartRequest.newBuilder().setClientId("other").setKey("grpc/owned")
                        .setSize(10).build()));
        assertCode(ErrorCode.ILLEGAL_CLIENT, Status.Code.FAILED_PRECONDITION,
                () -> master.putEnd(PutEndRequest.newBuilder().setClientId("other").setKey("grpc/owned").build()));
        master.putRevoke(PutRevokeRequest.newBuilder().setClientId("owner").setKey("grpc/owned").build());
        assertCode(ErrorCode.OBJECT_NOT_FOUND, Status.Code.NOT_FOUND,
                () -> master.putEnd(PutEndRequest.newBuilder().setClientId("owner").setKey("grpc/owned").build()));
    }

    @Test
    void segmentsMountIdempotentlyAndByOneOwner() {
        MountSegmentRequest mount = MountSegmentRequest.newBuilder().setClientId("w-x").setSegment("grpc-seg")
                .setCapacity(1 << 20).build();
        master.mountSegment(mount);
        master.mountSegment(mount);
        assertCode(ErrorCode.SEGMENT_ALREADY_EXISTS, Status.Code.ALREADY_EXISTS,
                () -> master.mountSegment(mount.toBuilder().setClientId("w-y").build()));
        assertCode(ErrorCode.ILLEGAL_CLIENT, Status.Code.FAILED_PRECONDITION,
                () -> master.unmountSegment(UnmountSegmentRequest.newBuilder().setClientId("w-y")
                        .setSegment("grpc-seg").build()));
        master.unmountSegment(UnmountSegmentRequest.newBuilder().setClientId("w-x").setSegment("grpc-seg").build());
        master.unmountSegment(UnmountSegmentRequest.newBuilder().setClientId("w-x").setSegment("grpc-seg").build());
    }

    @Test
    void serviceReadyReportsTheRole() {
        var ready = master.serviceReady(Empty.getDefaultInstance());
        assertTrue(ready.getReady());
        assertEquals("standalone", ready.getRole());
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
}
