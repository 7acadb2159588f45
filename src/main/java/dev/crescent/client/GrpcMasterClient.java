package dev.crescent.client;

import dev.crescent.api.grpc.GrpcErrors;
import dev.crescent.api.grpc.ProtoMapping;
import dev.crescent.api.grpc.proto.GetReplicaListResponse;
import dev.crescent.api.grpc.proto.GetReplicaListRequest;
import dev.crescent.api.grpc.proto.KeyRequest;
import dev.crescent.api.grpc.proto.MasterServiceGrpc;
import dev.crescent.api.grpc.proto.MountSegmentRequest;
import dev.crescent.api.grpc.proto.PutEndRequest;
import dev.crescent.api.grpc.proto.PutRevokeRequest;
import dev.crescent.api.grpc.proto.PutStartRequest;
import dev.crescent.api.grpc.proto.RemoveRequest;
import dev.crescent.api.grpc.proto.UnmountSegmentRequest;
import dev.crescent.master.ObjectLocation;
import dev.crescent.master.ReplicaDescriptor;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** A master in another process, over gRPC (plaintext HTTP/2 on the master's HTTP port). */
public final class GrpcMasterClient implements MasterClient {
    private final ManagedChannel channel;
    private final MasterServiceGrpc.MasterServiceBlockingStub stub;
    private final Duration timeout;

    /** @param address host:port of the master */
    public GrpcMasterClient(String address, Duration timeout) {
        this.channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
        this.stub = MasterServiceGrpc.newBlockingStub(channel);
        this.timeout = timeout;
    }

    @Override
    public List<ReplicaDescriptor> putStart(String clientId, String key, long size, int replicaNum, boolean upsert) {
        return call(() -> ProtoMapping.fromProto(stub().putStart(PutStartRequest.newBuilder()
                .setClientId(clientId).setKey(key).setSize(size).setReplicaNum(replicaNum).setUpsert(upsert)
                .build()).getReplicasList()));
    }

    @Override
    public void putEnd(String clientId, String key) {
        call(() -> stub().putEnd(PutEndRequest.newBuilder().setClientId(clientId).setKey(key).build()));
    }

    @Override
    public void putRevoke(String clientId, String key) {
        call(() -> stub().putRevoke(PutRevokeRequest.newBuilder().setClientId(clientId).setKey(key).build()));
    }

    @Override
    public ObjectLocation getReplicaList(String key) {
        GetReplicaListResponse response = call(() -> stub().getReplicaList(
                GetReplicaListRequest.newBuilder().setKey(key).build()));
        return new ObjectLocation(response.getSize(), ProtoMapping.fromProto(response.getReplicasList()),
                response.getLeaseDeadlineMs());
    }

    @Override
    public boolean exist(String key) {
        return call(() -> stub().exist(KeyRequest.newBuilder().setKey(key).build()).getExists());
    }

    @Override
    public void remove(String key, boolean force) {
        call(() -> stub().remove(RemoveRequest.newBuilder().setKey(key).setForce(force).build()));
    }

    @Override
    public void mountSegment(String clientId, String segment, long capacity, String endpoint) {
        call(() -> stub().mountSegment(MountSegmentRequest.newBuilder().setClientId(clientId).setSegment(segment)
                .setCapacity(capacity).setEndpoint(endpoint == null ? "" : endpoint).build()));
    }

    @Override
    public void unmountSegment(String clientId, String segment) {
        call(() -> stub().unmountSegment(UnmountSegmentRequest.newBuilder().setClientId(clientId)
                .setSegment(segment).build()));
    }

    @Override
    public void close() {
        channel.shutdown();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        channel.shutdownNow();
    }

    private MasterServiceGrpc.MasterServiceBlockingStub stub() {
        return stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static <T> T call(Supplier<T> rpc) {
        try {
            return rpc.get();
        } catch (StatusRuntimeException e) {
            throw GrpcErrors.fromStatus(e);
        }
    }
}
