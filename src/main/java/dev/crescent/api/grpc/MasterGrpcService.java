package dev.crescent.api.grpc;

import dev.crescent.api.OpMetrics;
import dev.crescent.api.grpc.proto.Empty;
import dev.crescent.api.grpc.proto.ExistResponse;
import dev.crescent.api.grpc.proto.GetReplicaListRequest;
import dev.crescent.api.grpc.proto.GetReplicaListResponse;
import dev.crescent.api.grpc.proto.KeyRequest;
import dev.crescent.api.grpc.proto.MasterService;
import dev.crescent.api.grpc.proto.MountSegmentRequest;
import dev.crescent.api.grpc.proto.PutEndRequest;
import dev.crescent.api.grpc.proto.PutRevokeRequest;
import dev.crescent.api.grpc.proto.PutStartRequest;
import dev.crescent.api.grpc.proto.PutStartResponse;
import dev.crescent.api.grpc.proto.RemoveRequest;
import dev.crescent.api.grpc.proto.ServiceReadyResponse;
import dev.crescent.api.grpc.proto.UnmountSegmentRequest;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.config.RoleGuard;
import dev.crescent.master.Master;
import dev.crescent.master.ObjectLocation;
import dev.crescent.worker.WorkerNode;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Uni;

import java.util.function.Supplier;

/** gRPC adapter of the master: validate, delegate, map errors. Master calls are short and in memory. */
@GrpcService
public class MasterGrpcService implements MasterService {
    private static final String API = "grpc";
    private static final Empty EMPTY = Empty.getDefaultInstance();

    private final Master master;
    private final RoleGuard role;
    private final WorkerNode worker;
    private final OpMetrics metrics;

    public MasterGrpcService(Master master, RoleGuard role, WorkerNode worker, OpMetrics metrics) {
        this.master = master;
        this.role = role;
        this.worker = worker;
        this.metrics = metrics;
    }

    @Override
    public Uni<PutStartResponse> putStart(PutStartRequest request) {
        return call("put_start", () -> PutStartResponse.newBuilder()
                .addAllReplicas(ProtoMapping.toProto(master.putStart(request.getClientId(), request.getKey(),
                        request.getSize(), request.getReplicaNum(), request.getUpsert())))
                .build());
    }

    @Override
    public Uni<Empty> putEnd(PutEndRequest request) {
        return call("put_end", () -> {
            master.putEnd(request.getClientId(), request.getKey());
            return EMPTY;
        });
    }

    @Override
    public Uni<Empty> putRevoke(PutRevokeRequest request) {
        return call("put_revoke", () -> {
            master.putRevoke(request.getClientId(), request.getKey());
            return EMPTY;
        });
    }

    @Override
    public Uni<GetReplicaListResponse> getReplicaList(GetReplicaListRequest request) {
        return call("get_replica_list", () -> {
            ObjectLocation location = master.getReplicaList(request.getKey());
            return GetReplicaListResponse.newBuilder()
                    .setSize(location.size())
                    .addAllReplicas(ProtoMapping.toProto(location.replicas()))
                    .setLeaseDeadlineMs(location.leaseDeadlineMillis())
                    .build();
        });
    }

    @Override
    public Uni<ExistResponse> exist(KeyRequest request) {
        return call("exist", () -> ExistResponse.newBuilder().setExists(master.exist(request.getKey())).build());
    }

    @Override
    public Uni<Empty> remove(RemoveRequest request) {
        return call("remove", () -> {
            master.remove(request.getKey(), request.getForce());
            return EMPTY;
        });
    }

    @Override
    public Uni<Empty> mountSegment(MountSegmentRequest request) {
        return call("mount_segment", () -> {
            master.mountSegment(request.getClientId(), request.getSegment(), request.getCapacity(),
                    request.getEndpoint());
            return EMPTY;
        });
    }

    @Override
    public Uni<Empty> unmountSegment(UnmountSegmentRequest request) {
        return call("unmount_segment", () -> {
            master.unmountSegment(request.getClientId(), request.getSegment());
            return EMPTY;
        });
    }

    @Override
    public Uni<ServiceReadyResponse> serviceReady(Empty request) {
        return Uni.createFrom().item(() -> ServiceReadyResponse.newBuilder()
                .setReady(role.role().runsMaster() && worker.isReady())
                .setRole(role.role().name().toLowerCase())
                .build());
    }

    private <T> Uni<T> call(String op, Supplier<T> action) {
        return Uni.createFrom().item(() -> {
            try {
                role.requireMaster();
                T result = action.get();
                metrics.record(API, op, ErrorCode.OK);
                return result;
            } catch (StoreException e) {
                metrics.record(API, op, e.code());
                throw GrpcErrors.toStatus(e);
            } catch (RuntimeException e) {
                metrics.record(API, op, ErrorCode.INTERNAL_ERROR);
                throw GrpcErrors.toStatus(e);
            }
        });
    }
}
