package dev.crescent.protocol;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.proto.BatchExistResponse;
import dev.crescent.protocol.proto.BatchStatusResponse;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.KeyStatus;
import dev.crescent.protocol.proto.LeaseRelease;
import dev.crescent.transfer.SegmentDescriptor;
import dev.crescent.transfer.SegmentTier;
import dev.crescent.transfer.TransferTicket;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** Domain <-> protobuf conversions shared by the gRPC service and the gRPC client. */
public final class ProtoMapping {
    private ProtoMapping() {}

    public static dev.crescent.protocol.proto.ReplicaDescriptor toProto(ReplicaDescriptor replica) {
        var out = dev.crescent.protocol.proto.ReplicaDescriptor.newBuilder()
                .setSegment(replica.segment())
                .setEndpoint(replica.endpoint() == null ? "" : replica.endpoint())
                .setOffset(replica.offset())
                .setLength(replica.length());
        if (replica.ticket() != null) {
            out.setTicket(ByteString.copyFrom(replica.ticket().encode()));
        }
        return out.setVersionSlot(replica.versionSlot()).build();
    }

    public static ReplicaDescriptor fromProto(dev.crescent.protocol.proto.ReplicaDescriptor replica) {
        return new ReplicaDescriptor(
                replica.getSegment(),
                replica.getEndpoint(),
                replica.getOffset(),
                replica.getLength(),
                TransferTicket.decode(replica.getSegment(), replica.getTicket().toByteArray()),
                replica.getVersionSlot());
    }

    public static dev.crescent.protocol.proto.PutSpace toProto(PutSpace space) {
        return dev.crescent.protocol.proto.PutSpace.newBuilder()
                .setId(space.id())
                .setReplica(toProto(space.replica()))
                .setLifetimeMillis(space.lifetimeMillis())
                .setVersion(space.version())
                .build();
    }

    public static PutSpace fromProto(dev.crescent.protocol.proto.PutSpace space) {
        return new PutSpace(
                space.getId(), fromProto(space.getReplica()), space.getLifetimeMillis(), space.getVersion());
    }

    /** A put start's answer: its replicas to write or COMMITTED, with the space granted ahead if any. */
    public static StartedPut fromProto(dev.crescent.protocol.proto.PutStartResponse answer) {
        return started(
                answer.getCommitted(),
                answer.getReplicasList(),
                answer.hasSpace() ? fromProto(answer.getSpace()) : null);
    }

    /** One key's put start in a batch's answer, as {@link #fromProto(dev.crescent.protocol.proto.PutStartResponse)}. */
    public static StartedPut fromProto(dev.crescent.protocol.proto.BatchPutStartItem item) {
        return started(
                item.getCommitted(), item.getReplicasList(), item.hasSpace() ? fromProto(item.getSpace()) : null);
    }

    private static StartedPut started(
            boolean committed, List<dev.crescent.protocol.proto.ReplicaDescriptor> replicas, PutSpace space) {
        StartedPut started = committed ? StartedPut.COMMITTED : StartedPut.toWrite(fromProto(replicas));
        return started.withSpace(space);
    }

    public static List<dev.crescent.protocol.proto.ReplicaDescriptor> toProto(List<ReplicaDescriptor> replicas) {
        List<dev.crescent.protocol.proto.ReplicaDescriptor> mapped = new ArrayList<>(replicas.size());
        for (ReplicaDescriptor replica : replicas) {
            mapped.add(toProto(replica));
        }
        return mapped;
    }

    public static List<ReplicaDescriptor> fromProto(List<dev.crescent.protocol.proto.ReplicaDescriptor> replicas) {
        List<ReplicaDescriptor> mapped = new ArrayList<>(replicas.size());
        for (dev.crescent.protocol.proto.ReplicaDescriptor replica : replicas) {
            mapped.add(fromProto(replica));
        }
        return mapped;
    }

    public static dev.crescent.protocol.proto.ReplicaConfig toProto(ReplicaConfig config) {
        return dev.crescent.protocol.proto.ReplicaConfig.newBuilder()
                .setReplicaNum(config.replicaNum())
                .addAllPreferredSegments(config.preferredSegments())
                .setSoftPin(config.softPin())
                .setHardPin(config.hardPin())
                .build();
    }

    public static ReplicaConfig fromProto(dev.crescent.protocol.proto.ReplicaConfig config) {
        return new ReplicaConfig(
                config.getReplicaNum(), config.getPreferredSegmentsList(), config.getSoftPin(), config.getHardPin());
    }

    public static GetReplicaListResponse toProto(ObjectLocation location) {
        GetReplicaListResponse.Builder response = GetReplicaListResponse.newBuilder()
                .setSize(location.size())
                .addAllReplicas(toProto(location.replicas()))
                .setLeaseDeadlineMs(location.leaseDeadlineMillis());
        if (location.crc32c() != null) {
            response.setCrc32C(location.crc32c().intValue());
        }
        if (location.value() != null) {
            response.setValue(byteStringOf(location.value()));
        }
        return response.setLeaseId(location.leaseId())
                .setVersion(location.version())
                .build();
    }

    public static ObjectLocation fromProto(GetReplicaListResponse response) {
        return fromProto(response, null);
    }

    /**
     * The location {@code response} answers, with {@code value} as its bytes when not null: the answer's value read
     * apart from it (the answer then has none of its own).
     */
    public static ObjectLocation fromProto(GetReplicaListResponse response, MemorySegment value) {
        return new ObjectLocation(
                response.getSize(),
                fromProto(response.getReplicasList()),
                response.getLeaseDeadlineMs(),
                response.hasCrc32C() ? crc32c(response.getCrc32C()) : null,
                response.getLeaseId(),
                value != null ? value : response.getValue().isEmpty() ? null : segmentOf(response.getValue()),
                response.getVersion());
    }

    /** The bytes without a copy (read-only: a ByteString is immutable). */
    public static MemorySegment segmentOf(ByteString bytes) {
        return MemorySegment.ofBuffer(bytes.asReadOnlyByteBuffer());
    }

    /**
     * The segment's bytes as a ByteString, without a copy when they are on the heap (the caller must then not change
     * them while it is in use); protobuf (4.x) copies off-heap bytes into an array of their own.
     */
    public static ByteString byteStringOf(MemorySegment bytes) {
        return UnsafeByteOperations.unsafeWrap(bytes.asByteBuffer());
    }

    public static List<LeaseRelease> releasesToProto(List<ReadLease> leases) {
        return leases.stream()
                .map(l -> LeaseRelease.newBuilder()
                        .setKey(l.key())
                        .setLeaseId(l.id())
                        .build())
                .toList();
    }

    public static List<ReadLease> releasesFromProto(List<LeaseRelease> released) {
        return released.stream()
                .map(r -> new ReadLease(r.getKey(), r.getLeaseId()))
                .toList();
    }

    /** A uint32 CRC as protobuf hands it to Java (a signed int) back to its value. */
    public static Long crc32c(int wire) {
        return Integer.toUnsignedLong(wire);
    }

    /** One status per key, in order. */
    public static BatchStatusResponse statuses(List<KeyResult<Void>> results) {
        return BatchStatusResponse.newBuilder()
                .addAllStatuses(results.stream().map(ProtoMapping::status).toList())
                .build();
    }

    /** One status and one exists flag per key, in order (false where the status is an error). */
    public static BatchExistResponse exists(List<KeyResult<Boolean>> results) {
        return BatchExistResponse.newBuilder()
                .addAllStatuses(results.stream().map(ProtoMapping::status).toList())
                .addAllExists(results.stream().map(r -> r.ok() && r.value()).toList())
                .build();
    }

    public static KeyStatus status(KeyResult<?> result) {
        KeyStatus.Builder out = KeyStatus.newBuilder()
                .setKey(result.key())
                .setCode(result.code().number());
        if (!result.ok()) {
            out.setMessage(String.valueOf(result.error().getMessage()));
        }
        return out.build();
    }

    /** A key's result from its wire status; {@code value} is used only when the status is OK. */
    public static <T> KeyResult<T> result(KeyStatus status, T value) {
        if (status.getCode() == 0) {
            return new KeyResult<>(status.getKey(), value, null);
        }
        return new KeyResult<>(
                status.getKey(), null, new StoreException(ErrorCode.fromNumber(status.getCode()), status.getMessage()));
    }

    public static dev.crescent.protocol.proto.SegmentSpec toProto(SegmentDescriptor spec) {
        return dev.crescent.protocol.proto.SegmentSpec.newBuilder()
                .setSegment(spec.name())
                .setCapacity(spec.capacity())
                .setEndpoint(spec.endpoint() == null ? "" : spec.endpoint())
                .setContentsId(spec.contentsId())
                .setTier(spec.tier().wireName())
                .build();
    }

    public static SegmentDescriptor fromProto(dev.crescent.protocol.proto.SegmentSpec spec) {
        return new SegmentDescriptor(
                spec.getSegment(),
                spec.getCapacity(),
                spec.getEndpoint(),
                spec.getContentsId(),
                SegmentTier.parse(spec.getTier()));
    }
}
