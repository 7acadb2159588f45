package dev.crescent.api.grpc;

import dev.crescent.master.ReplicaDescriptor;

import java.util.List;

/** Domain <-> protobuf conversions shared by the gRPC service and the gRPC client. */
public final class ProtoMapping {
    private ProtoMapping() {
    }

    public static dev.crescent.api.grpc.proto.ReplicaDescriptor toProto(ReplicaDescriptor replica) {
        return dev.crescent.api.grpc.proto.ReplicaDescriptor.newBuilder()
                .setSegment(replica.segment())
                .setEndpoint(replica.endpoint() == null ? "" : replica.endpoint())
                .setOffset(replica.offset())
                .setLength(replica.length())
                .build();
    }

    public static ReplicaDescriptor fromProto(dev.crescent.api.grpc.proto.ReplicaDescriptor replica) {
        return new ReplicaDescriptor(replica.getSegment(), replica.getEndpoint(), replica.getOffset(),
                replica.getLength());
    }

    public static List<dev.crescent.api.grpc.proto.ReplicaDescriptor> toProto(List<ReplicaDescriptor> replicas) {
        return replicas.stream().map(ProtoMapping::toProto).toList();
    }

    public static List<ReplicaDescriptor> fromProto(
            List<dev.crescent.api.grpc.proto.ReplicaDescriptor> replicas) {
        return replicas.stream().map(ProtoMapping::fromProto).toList();
    }
}
