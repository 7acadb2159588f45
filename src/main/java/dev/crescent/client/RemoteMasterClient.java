package dev.crescent.client;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.GrpcErrors;
import dev.crescent.protocol.HeartbeatReply;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.MasterClient;
import dev.crescent.protocol.MasterWire;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ProtoMapping;
import dev.crescent.protocol.ReadLease;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.protocol.StartedPut;
import dev.crescent.protocol.proto.BatchExistResponse;
import dev.crescent.protocol.proto.BatchGetReplicaListItem;
import dev.crescent.protocol.proto.BatchKeysRequest;
import dev.crescent.protocol.proto.BatchPutStartItem;
import dev.crescent.protocol.proto.BatchPutStartRequest;
import dev.crescent.protocol.proto.BatchStatusResponse;
import dev.crescent.protocol.proto.GetReplicaListRequest;
import dev.crescent.protocol.proto.GetReplicaListResponse;
import dev.crescent.protocol.proto.HeartbeatRequest;
import dev.crescent.protocol.proto.HeartbeatResponse;
import dev.crescent.protocol.proto.KeyRequest;
import dev.crescent.protocol.proto.LeaseRelease;
import dev.crescent.protocol.proto.MasterServiceGrpc;
import dev.crescent.protocol.proto.MountSegmentRequest;
import dev.crescent.protocol.proto.PutEndRequest;
import dev.crescent.protocol.proto.PutRevokeRequest;
import dev.crescent.protocol.proto.PutStartRequest;
import dev.crescent.protocol.proto.PutStartResponse;
import dev.crescent.protocol.proto.ReleaseLeasesRequest;
import dev.crescent.protocol.proto.RemountSegmentsRequest;
import dev.crescent.protocol.proto.RemoveAllRequest;
import dev.crescent.protocol.proto.RemoveRequest;
import dev.crescent.protocol.proto.UnmountSegmentRequest;
import dev.crescent.transfer.SegmentDescriptor;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * A master in another process. Calls go over the master's lean binary protocol ({@link MasterWire}, on the port
 * the master announces) when the master offers it, else over gRPC (HTTP/2 on its HTTP port); both carry the same
 * messages and error codes, in plaintext or, given a TLS context, over TLS. Every call states this node's name (in
 * the wire hello, in the {@code crescent-node} gRPC header); over TLS the certificate's name proves it instead.
 * With several masters it follows the leader.
 */
public final class RemoteMasterClient implements MasterClient {
    /**
     * grpc-netty logs every HTTP/2 frame at DEBUG (headers and payload rendered to text). Outside Quarkus, a JVM
     * whose logging is not configured lets DEBUG through, and that formatting then dominates every master call
     * (profiled: most of the client's time in a batch get). Unless the application set a level for it, keep it at
     * INFO. The logger is held here because java.util.logging keeps only weak references to configured loggers.
     */
    private static final java.util.logging.Logger FRAME_LOGGER = quietFrameLogger();

    private static final Duration HEARTBEAT_DEADLINE = Duration.ofSeconds(1);
    private final Supplier<String> leader;
    private final String nodeName;
    private final boolean wire;
    private final SSLContext tls;
    private final Metadata headers = new Metadata();
    private final Duration timeout;
    private final FailoverGuard failover;
    /** Leases whose reads are over, carried on the next get or put start (or sent alone when none comes). */
    private final PendingReleases releases = new PendingReleases(this::sendReleases);

    private volatile Connection current;
    /** Whether wire channels ask the master for a request ring. */
    private final boolean rings;

    /** What may be sent again when an attempt fails for want of a (leading) master. */
    private enum Replay {
        /** Repeating it changes nothing (reads, PutEnd of one's own put, mounts). */
        SAFE,
        /**
         * Repeated after NOT_LEADER or a failed connection, but not after a timeout, when the master may still be
         * acting on it (a second PutStart would meet the first's reservation, a second remove a missing key).
         */
        UNLESS_TIMED_OUT,
        /** Never repeated: the next one is due soon anyway (heartbeats). */
        NEVER
    }

    /**
     * The master at one address: its gRPC channel, and its wire channel while the master speaks the protocol (null
     * once it announced no wire port, or when this client does not use it).
     */
    private static final class Connection {
        final String address;
        final ManagedChannel channel;
        final Channel withHeaders;
        volatile MasterWireChannel wire;

        Connection(String address, ManagedChannel channel, Channel withHeaders, MasterWireChannel wire) {
            this.address = address;
            this.channel = channel;
            this.withHeaders = withHeaders;
            this.wire = wire;
        }

        void shutdown(boolean now) {
            MasterWireChannel open = wire;
            if (open != null) {
                open.close();
            }
            if (now) {
                channel.shutdownNow();
            } else {
                RemoteMasterClient.shutdown(channel);
            }
        }
    }

    /**
     * @param address  host:port of the master
     * @param nodeName this node's name, sent with every call
     */
    public RemoteMasterClient(String address, String nodeName, Duration timeout) {
        this(() -> address, nodeName, timeout, timeout.multipliedBy(3));
    }

    public RemoteMasterClient(Supplier<String> leader, String nodeName, Duration timeout, Duration failoverWindow) {
        this(leader, nodeName, timeout, failoverWindow, true, null);
    }

    public RemoteMasterClient(
            Supplier<String> leader, String nodeName, Duration timeout, Duration failoverWindow, boolean wire) {
        this(leader, nodeName, timeout, failoverWindow, wire, null);
    }

    /**
     * @param leader         where the (leading) master is now; asked again when a call meets NOT_LEADER or no
     *                       answer, so the client follows a failover
     * @param timeout        the longest one attempt of a call may take
     * @param failoverWindow how long a call keeps retrying (with back-off) while no master leads or answers
     * @param wire           use the master's binary protocol where offered (false: gRPC only)
     * @param tls            TLS (with this node's certificate) for every connection to a master; null: plaintext
     */
    public RemoteMasterClient(
            Supplier<String> leader,
            String nodeName,
            Duration timeout,
            Duration failoverWindow,
            boolean wire,
            SSLContext tls) {
        this(leader, nodeName, timeout, failoverWindow, wire, tls, false);
    }

    /**
     * @param rings put-path calls go through a request ring in shared memory when the master, on this host, offers
     *              one ({@link CallRing}); for clients that map same-host memory anyway
     */
    public RemoteMasterClient(
            Supplier<String> leader,
            String nodeName,
            Duration timeout,
            Duration failoverWindow,
            boolean wire,
            SSLContext tls,
            boolean rings) {
        this.rings = rings;
        this.leader = leader;
        this.tls = tls;
        this.nodeName = nodeName;
        this.wire = wire;
        this.timeout = timeout;
        this.failover = new FailoverGuard(timeout, failoverWindow);
        headers.put(GrpcErrors.NODE_KEY, nodeName);
    }

    @Override
    public List<ReplicaDescriptor> putStart(
            String clientId, String key, long size, ReplicaConfig config, boolean upsert) {
        return call(
                Replay.UNLESS_TIMED_OUT,
                () -> ProtoMapping.fromProto(unary(
                                MasterServiceGrpc.getPutStartMethod(),
                                PutStartRequest.newBuilder()
                                        .setClientId(clientId)
                                        .setKey(key)
                                        .setSize(size)
                                        .setConfig(ProtoMapping.toProto(config))
                                        .setUpsert(upsert)
                                        .addAllReleased(carried())
                                        .build())
                        .getReplicasList()));
    }

    /** One call for a small put: the bytes go with the put start (a master that predates it answers replicas). */
    @Override
    public StartedPut putStartInline(
            String clientId, String key, MemorySegment value, ReplicaConfig config, boolean upsert, Long crc32c) {
        return putStartNear(clientId, key, value.byteSize(), value, 0, "", config, upsert, crc32c);
    }

    /**
     * A put start with the bytes (a small object), or naming the space they were copied into, or neither; asking for
     * space for the next put when {@code writerHost} is given (a master that predates spaces answers the replicas to
     * write). Repeated as any put start is: a repeat of a put whose first try made the object in its space is answered
     * committed, as the first try was.
     */
    @Override
    public StartedPut putStartNear(
            String clientId,
            String key,
            long size,
            MemorySegment value,
            long inSpace,
            String writerHost,
            ReplicaConfig config,
            boolean upsert,
            Long crc32c) {
        PutStartRequest.Builder request = PutStartRequest.newBuilder()
                .setClientId(clientId)
                .setKey(key)
                .setSize(size)
                .setConfig(ProtoMapping.toProto(config))
                .setUpsert(upsert)
                .setInSpace(inSpace)
                .setWriterHost(writerHost);
        if (crc32c != null) {
            request.setCrc32C(crc32c.intValue());
        }
        TrailingBytes bytes = value == null
                ? TrailingBytes.NONE
                : new TrailingBytes(PutStartRequest.VALUE_FIELD_NUMBER, List.of(value));
        PutStartRequest built = request.build();
        PutStartResponse answer = call(
                Replay.UNLESS_TIMED_OUT,
                () -> unary(
                        MasterServiceGrpc.getPutStartMethod(),
                        timeout,
                        carrying(
                                built,
                                (m, releases) ->
                                        m.toBuilder().addAllReleased(releases).build()),
                        bytes));
        return ProtoMapping.fromProto(answer);
    }

    @Override
    public void putEnd(String clientId, String key, Long crc32c) {
        PutEndRequest.Builder request =
                PutEndRequest.newBuilder().setClientId(clientId).setKey(key);
        if (crc32c != null) {
            request.setCrc32C(crc32c.intValue());
        }
        call(Replay.SAFE, () -> unary(MasterServiceGrpc.getPutEndMethod(), request.build()));
    }

    @Override
    public void putRevoke(String clientId, String key) {
        call(
                Replay.UNLESS_TIMED_OUT,
                () -> unary(
                        MasterServiceGrpc.getPutRevokeMethod(),
                        PutRevokeRequest.newBuilder()
                                .setClientId(clientId)
                                .setKey(key)
                                .build()));
    }

    @Override
    public ObjectLocation getReplicaList(String key) {
        return getReplicaList(key, 0, "");
    }

    @Override
    public ObjectLocation getReplicaList(String key, long acceptInline, String readerHost) {
        return ProtoMapping.fromProto(call(
                Replay.SAFE,
                () -> unary(MasterServiceGrpc.getGetReplicaListMethod(), locate(key, acceptInline, readerHost))));
    }

    @Override
    public ObjectLocation getReplicaListInto(String key, long acceptInline, String readerHost, MemorySegment target) {
        return call(
                Replay.SAFE,
                () -> unary(
                        MasterServiceGrpc.getGetReplicaListMethod(),
                        timeout,
                        locate(key, acceptInline, readerHost),
                        TrailingBytes.NONE,
                        true,
                        GetReplicaListResponse.VALUE_FIELD_NUMBER,
                        (answer, value) -> ownedIn(ProtoMapping.fromProto(answer, value), target)));
    }

    private GetReplicaListRequest locate(String key, long acceptInline, String readerHost) {
        return GetReplicaListRequest.newBuilder()
                .setKey(key)
                .setAcceptInline(acceptInline)
                .setReaderHost(readerHost)
                .addAllReleased(carried())
                .build();
    }

    /** {@code location} with its bytes, if answered, copied out of the answer: into {@code target} when they fit. */
    private static ObjectLocation ownedIn(ObjectLocation location, MemorySegment target) {
        MemorySegment value = location.value();
        if (value == null) {
            return location;
        }
        if (value.byteSize() > target.byteSize()) {
            return location.inlined(MemorySegment.ofArray(value.toArray(ValueLayout.JAVA_BYTE)));
        }
        MemorySegment.copy(value, 0, target, 0, value.byteSize());
        return location.inlined(target.asSlice(0, value.byteSize()));
    }

    @Override
    public boolean exist(String key) {
        return call(
                Replay.SAFE,
                () -> unary(
                                MasterServiceGrpc.getExistMethod(),
                                KeyRequest.newBuilder().setKey(key).build())
                        .getExists());
    }

    @Override
    public void remove(String key, boolean force) {
        releases.sendNow(); // this client's finished reads must not hold the object against its own remove
        call(
                Replay.UNLESS_TIMED_OUT,
                () -> unary(
                        MasterServiceGrpc.getRemoveMethod(),
                        RemoveRequest.newBuilder().setKey(key).setForce(force).build()));
    }

    @Override
    public long removeAll(boolean force) {
        releases.sendNow();
        return call(
                Replay.UNLESS_TIMED_OUT,
                () -> unary(
                                MasterServiceGrpc.getRemoveAllMethod(),
                                RemoveAllRequest.newBuilder().setForce(force).build())
                        .getRemoved());
    }

    @Override
    public List<KeyResult<List<ReplicaDescriptor>>> batchPutStart(
            String clientId, List<String> keys, List<Long> sizes, ReplicaConfig config, boolean upsert) {
        return batchStart(batchStartRequest(clientId, keys, sizes, config, upsert), TrailingBytes.NONE).stream()
                .map(i -> ProtoMapping.result(i.getStatus(), ProtoMapping.fromProto(i.getReplicasList())))
                .toList();
    }

    /**
     * One call for a batch of puts whose small objects' bytes go with it and whose other objects may lie in space granted
     * earlier (a master that predates either answers replicas for every key, and one that predates spaces grants none).
     */
    @Override
    public List<KeyResult<StartedPut>> batchPutStartNear(
            String clientId,
            List<String> keys,
            List<Long> sizes,
            List<MemorySegment> values,
            List<Long> inSpaces,
            String writerHost,
            ReplicaConfig config,
            boolean upsert,
            List<Long> crc32cs) {
        BatchPutStartRequest.Builder request =
                batchStartRequest(clientId, keys, sizes, config, upsert).setWriterHost(writerHost);
        if (inSpaces != null && inSpaces.stream().anyMatch(space -> space != 0)) {
            request.addAllInSpaces(inSpaces);
        }
        boolean sendsValues = values.stream().anyMatch(Objects::nonNull);
        if (crc32cs != null && (sendsValues || request.getInSpacesCount() > 0)) {
            request.addAllCrc32Cs(onWire(crc32cs)); // checksums of the bytes the master commits in this call
        }
        if (sendsValues) {
            request.setValuesLast(true); // TrailingBytes puts them after the rest: a master may read them as they come
        }
        TrailingBytes sent = sendsValues
                ? new TrailingBytes(
                        BatchPutStartRequest.VALUES_FIELD_NUMBER,
                        values.stream() // an empty entry: that key's bytes are not sent
                                .map(value -> value == null ? MemorySegment.NULL : value)
                                .toList())
                : TrailingBytes.NONE;
        return batchStart(request, sent).stream()
                .map(i -> ProtoMapping.result(i.getStatus(), ProtoMapping.fromProto(i)))
                .toList();
    }

    /** Checksums as batch requests carry them: -1 for a key without one. */
    private static List<Long> onWire(List<Long> crc32cs) {
        return crc32cs.stream().map(c -> c == null ? -1L : c).toList();
    }

    private static BatchPutStartRequest.Builder batchStartRequest(
            String clientId, List<String> keys, List<Long> sizes, ReplicaConfig config, boolean upsert) {
        return BatchPutStartRequest.newBuilder()
                .setClientId(clientId)
                .addAllKeys(keys)
                .addAllSizes(sizes)
                .setConfig(ProtoMapping.toProto(config))
                .setUpsert(upsert);
    }

    private List<BatchPutStartItem> batchStart(BatchPutStartRequest.Builder request, TrailingBytes values) {
        BatchPutStartRequest built = request.build();
        return call(
                Replay.UNLESS_TIMED_OUT,
                () -> unary(
                                MasterServiceGrpc.getBatchPutStartMethod(),
                                timeout,
                                carrying(
                                        built,
                                        (m, releases) -> m.toBuilder()
                                                .addAllReleased(releases)
                                                .build()),
                                values)
                        .getItemsList());
    }

    @Override
    public List<KeyResult<Void>> batchPutEnd(String clientId, List<String> keys, List<Long> crc32cs) {
        BatchKeysRequest.Builder request = keys(clientId, keys, false).toBuilder();
        if (crc32cs != null) {
            request.addAllCrc32Cs(onWire(crc32cs));
        }
        return statuses(call(Replay.SAFE, () -> unary(MasterServiceGrpc.getBatchPutEndMethod(), request.build())));
    }

    @Override
    public List<KeyResult<Void>> batchPutRevoke(String clientId, List<String> keys) {
        return statuses(call(
                Replay.SAFE, () -> unary(MasterServiceGrpc.getBatchPutRevokeMethod(), keys(clientId, keys, false))));
    }

    @Override
    public List<KeyResult<ObjectLocation>> batchGetReplicaList(List<String> keys) {
        return batchGetReplicaList(keys, 0, "");
    }

    @Override
    public List<KeyResult<ObjectLocation>> batchGetReplicaList(
            List<String> keys, long acceptInline, String readerHost) {
        return batchGetReplicaListInto(
                keys, acceptInline, readerHost, (i, size) -> MemorySegment.ofArray(new byte[Math.toIntExact(size)]));
    }

    /**
     * Read within the connection's kept buffer, as {@link #getReplicaListInto}: a batch of small objects' bytes (half
     * a megabyte for 128 of 4 KiB) would otherwise be copied into an array of its own, parsed into a copy per value
     * and copied again into the caller's buffers.
     */
    @Override
    public List<KeyResult<ObjectLocation>> batchGetReplicaListInto(
            List<String> keys,
            long acceptInline,
            String readerHost,
            BiFunction<Integer, Long, MemorySegment> targetFor) {
        BatchKeysRequest built = keys("", keys, false).toBuilder()
                .setAcceptInline(acceptInline)
                .setReaderHost(readerHost)
                .build();
        return call(
                Replay.SAFE,
                () -> unaryWithin(
                        MasterServiceGrpc.getBatchGetReplicaListMethod(),
                        carrying(
                                built,
                                (m, releases) ->
                                        m.toBuilder().addAllReleased(releases).build()),
                        answer -> {
                            List<KeyResult<ObjectLocation>> results = new ArrayList<>(answer.getItemsCount());
                            for (int i = 0; i < answer.getItemsCount(); i++) {
                                BatchGetReplicaListItem item = answer.getItems(i);
                                KeyResult<ObjectLocation> result = ProtoMapping.result(
                                        item.getStatus(), ProtoMapping.fromProto(item.getLocation()));
                                ObjectLocation location = result.value();
                                results.add(
                                        location == null || location.value() == null
                                                ? result
                                                : new KeyResult<>(
                                                        result.key(),
                                                        ownedIn(location, targetFor.apply(i, location.size())),
                                                        null));
                            }
                            return results;
                        }));
    }

    @Override
    public List<KeyResult<Boolean>> batchExist(List<String> keys) {
        BatchExistResponse response =
                call(Replay.SAFE, () -> unary(MasterServiceGrpc.getBatchExistMethod(), keys("", keys, false)));
        List<KeyResult<Boolean>> results = new ArrayList<>(response.getStatusesCount());
        for (int i = 0; i < response.getStatusesCount(); i++) {
            results.add(ProtoMapping.result(response.getStatuses(i), response.getExists(i)));
        }
        return results;
    }

    @Override
    public List<KeyResult<Void>> batchRemove(List<String> keys, boolean force) {
        releases.sendNow();
        return statuses(call(
                Replay.UNLESS_TIMED_OUT, () -> unary(MasterServiceGrpc.getBatchRemoveMethod(), keys("", keys, force))));
    }

    @Override
    public void mountSegment(String clientId, SegmentDescriptor segment, boolean claimsContents) {
        call(
                Replay.SAFE,
                () -> unary(
                        MasterServiceGrpc.getMountSegmentMethod(),
                        MountSegmentRequest.newBuilder()
                                .setClientId(clientId)
                                .setSegment(segment.name())
                                .setCapacity(segment.capacity())
                                .setEndpoint(segment.endpoint() == null ? "" : segment.endpoint())
                                .setContentsId(segment.contentsId())
                                .setTier(segment.tier().wireName())
                                .setClaimsContents(claimsContents)
                                .build()));
    }

    @Override
    public void unmountSegment(String clientId, String segment) {
        call(
                Replay.SAFE,
                () -> unary(
                        MasterServiceGrpc.getUnmountSegmentMethod(),
                        UnmountSegmentRequest.newBuilder()
                                .setClientId(clientId)
                                .setSegment(segment)
                                .build()));
    }

    @Override
    public void remountSegments(String clientId, List<SegmentDescriptor> segments) {
        call(
                Replay.SAFE,
                () -> unary(
                        MasterServiceGrpc.getRemountSegmentsMethod(),
                        RemountSegmentsRequest.newBuilder()
                                .setClientId(clientId)
                                .addAllSegments(segments.stream()
                                        .map(ProtoMapping::toProto)
                                        .toList())
                                .build()));
    }

    /**
     * Heartbeats look the leader up first (a cheap read where masters are elected), so a worker moves to a new
     * leader within one beat instead of waiting for a call to the old one to time out; and they wait at most
     * {@link #HEARTBEAT_DEADLINE}, well inside any client-ttl.
     */
    @Override
    public HeartbeatReply heartbeat(String clientId) {
        followLeader();
        HeartbeatResponse response = call(
                Replay.NEVER,
                () -> unary(
                        MasterServiceGrpc.getHeartbeatMethod(),
                        HEARTBEAT_DEADLINE,
                        HeartbeatRequest.newBuilder().setClientId(clientId).build()));
        return response.getStatus() == HeartbeatResponse.Status.NEED_REMOUNT
                ? HeartbeatReply.NEED_REMOUNT
                : HeartbeatReply.OK;
    }

    /** Queued: carried on the next get or put start, or sent alone within a few milliseconds. */
    @Override
    public void releaseLeases(List<ReadLease> leases) {
        releases.add(leases);
    }

    /**
     * Sent at once, with any releases still queued, in one try of at most a heartbeat's deadline: it is sent on close,
     * which must not wait out a failover for memory that frees itself anyway.
     */
    @Override
    public void releaseSpaces(String clientId) {
        call(
                Replay.NEVER,
                () -> unary(
                        MasterServiceGrpc.getReleaseLeasesMethod(),
                        HEARTBEAT_DEADLINE,
                        ReleaseLeasesRequest.newBuilder()
                                .addAllLeases(carried())
                                .setClosingClientId(clientId)
                                .build()));
    }

    /** Releases for a request to carry (lost with it if that attempt fails: those leases then end by time). */
    private List<LeaseRelease> carried() {
        List<ReadLease> waiting = releases.drain();
        return waiting.isEmpty() ? List.of() : ProtoMapping.releasesToProto(waiting);
    }

    /**
     * {@code request} with the lease releases waiting to be carried, added by {@code adding}; most calls find none,
     * and then every try sends the message built once (a builder cloned for each call was a twentieth of the client's
     * CPU in a 4 KiB put).
     */
    private <M> M carrying(M request, BiFunction<M, List<LeaseRelease>, M> adding) {
        List<LeaseRelease> carried = carried();
        return carried.isEmpty() ? request : adding.apply(request, carried);
    }

    private void sendReleases(List<ReadLease> leases) {
        call(
                Replay.NEVER,
                () -> unary(
                        MasterServiceGrpc.getReleaseLeasesMethod(),
                        ReleaseLeasesRequest.newBuilder()
                                .addAllLeases(ProtoMapping.releasesToProto(leases))
                                .build()));
    }

    @Override
    public void close() {
        releases.close();
        closeConnection();
    }

    private synchronized void closeConnection() {
        if (current != null) {
            current.shutdown(false);
            current = null;
        }
    }

    @Override
    public long streamedPutBytes() {
        Connection connection = current;
        if (connection == null) { // before the first call: connect as it would, so a first large put streams too
            try {
                connection = connect(leader.get());
            } catch (StoreException noLeader) {
                return 0;
            }
        }
        MasterWireChannel channel = connection.wire;
        return channel == null ? 0 : channel.streamedPutBytes(timeout);
    }

    /** Whether calls to the current master go over the wire protocol (false before the first call). */
    boolean usesWire() {
        Connection connection = current;
        return connection != null && connection.wire != null;
    }

    private static java.util.logging.Logger quietFrameLogger() {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger("io.grpc.netty");
        if (logger.getLevel() == null) {
            logger.setLevel(java.util.logging.Level.INFO);
        }
        return logger;
    }

    private static void shutdown(ManagedChannel channel) {
        channel.shutdown();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        channel.shutdownNow();
    }

    private static BatchKeysRequest keys(String clientId, List<String> keys, boolean force) {
        return BatchKeysRequest.newBuilder()
                .setClientId(clientId)
                .addAllKeys(keys)
                .setForce(force)
                .build();
    }

    private static List<KeyResult<Void>> statuses(BatchStatusResponse response) {
        return response.getStatusesList().stream()
                .map(s -> ProtoMapping.<Void>result(s, null))
                .toList();
    }

    private <Q extends MessageLite, A> A unary(MethodDescriptor<Q, A> method, Q request) {
        return unary(method, timeout, request);
    }

    private <Q extends MessageLite, A> A unary(MethodDescriptor<Q, A> method, Duration deadline, Q request) {
        return unary(method, deadline, request, TrailingBytes.NONE);
    }

    /**
     * One attempt of one call to the current master: over the wire while it speaks it, else over gRPC; the message
     * is {@code request} followed by {@code trailing}'s entries.
     */
    private <Q extends MessageLite, A> A unary(
            MethodDescriptor<Q, A> method, Duration deadline, Q request, TrailingBytes trailing) {
        return unary(method, deadline, request, trailing, false, 0, (answer, value) -> answer);
    }

    /**
     * {@link #unary} whose answer is valid only inside {@code take} (over the wire it is read into the connection's
     * kept buffer, {@link MasterWireChannel#callWithin}): {@code take} copies out what it keeps.
     */
    private <Q extends MessageLite, A, R> R unaryWithin(
            MethodDescriptor<Q, A> method, Q request, Function<? super A, ? extends R> take) {
        return unary(method, timeout, request, TrailingBytes.NONE, true, 0, (answer, value) -> take.apply(answer));
    }

    /**
     * {@link #unary}, and when {@code within}, {@link #unaryWithin} whose answer may end with a value in bytes field
     * {@code valueField}, handed to {@code take} apart ({@link MasterWireChannel#callWithin}); {@code take} gets null
     * and the answer whole when it came whole (always over gRPC).
     */
    private <Q extends MessageLite, A, R> R unary(
            MethodDescriptor<Q, A> method,
            Duration deadline,
            Q request,
            TrailingBytes trailing,
            boolean within,
            int valueField,
            BiFunction<? super A, MemorySegment, ? extends R> take) {
        Connection connection = current;
        if (connection == null) {
            connection = connect(leader.get());
        }
        Duration bounded = deadline.compareTo(timeout) < 0 ? deadline : timeout;
        MasterWireChannel channel = connection.wire;
        if (channel != null) {
            try {
                return within
                        ? channel.callWithin(method, request, bounded, valueField, take)
                        : take.apply(channel.call(method, request, trailing, bounded), null);
            } catch (MasterWireChannel.Refused refused) {
                connection.wire = null; // an older master, or one with crescent.master.wire=false
                channel.close();
            }
        }
        return take.apply(
                ClientCalls.blockingUnaryCall(
                        connection.withHeaders,
                        method,
                        CallOptions.DEFAULT.withDeadlineAfter(bounded.toMillis(), TimeUnit.MILLISECONDS),
                        trailing.entries().isEmpty() ? request : merged(method, request, trailing)),
                null);
    }

    /** {@code request} with {@code trailing}'s entries in it, for gRPC (which takes whole messages only). */
    private static <Q extends MessageLite> Q merged(MethodDescriptor<Q, ?> method, Q request, TrailingBytes trailing) {
        int size = request.getSerializedSize() + trailing.encodedSize();
        byte[] whole = new byte[size];
        CodedOutputStream out = CodedOutputStream.newInstance(whole);
        try {
            request.writeTo(out);
            trailing.writeTo(out);
        } catch (IOException e) {
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot encode " + method.getBareMethodName(), e);
        }
        return method.parseRequest(new ByteArrayInputStream(whole));
    }

    private <T> T call(Replay replay, Supplier<T> rpc) {
        if (replay == Replay.NEVER) {
            return attempt(replay, rpc);
        }
        return failover.call(() -> attempt(replay, rpc));
    }

    /** One try; a failure a later try may fix (after following the leader) is handed to the guard as a Retry. */
    private <T> T attempt(Replay replay, Supplier<T> rpc) {
        StoreException error;
        try {
            return rpc.get();
        } catch (StatusRuntimeException e) {
            error = GrpcErrors.fromStatus(e);
        } catch (StoreException e) {
            error = e; // no leader known yet
        }
        boolean transport = error.code() == ErrorCode.RPC_FAIL || error.code() == ErrorCode.RPC_TIMEOUT;
        if (error.code() == ErrorCode.NOT_LEADER || transport) {
            followLeader();
        }
        boolean retry = switch (error.code()) {
            case NOT_LEADER, RPC_FAIL -> replay != Replay.NEVER;
            case RPC_TIMEOUT -> replay == Replay.SAFE;
            default -> false;
        };
        throw retry ? new FailoverGuard.Retry(error, transport) : error;
    }

    /** Asks where the leader is now and switches to it (keeps the current master while none is known). */
    private void followLeader() {
        String address;
        try {
            address = leader.get();
        } catch (StoreException unknown) {
            return;
        }
        Connection connection = current;
        if (connection == null || !connection.address.equals(address)) {
            connect(address);
        }
    }

    private synchronized Connection connect(String address) {
        Connection old = current;
        if (old != null && old.address.equals(address)) {
            return old;
        }
        NettyChannelBuilder builder = NettyChannelBuilder.forTarget(address);
        ManagedChannel channel =
                (tls == null ? builder.usePlaintext() : builder.sslContext(ClientTls.forGrpc(tls))).build();
        Connection fresh = new Connection(
                address,
                channel,
                ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers)),
                wire ? new MasterWireChannel(address, nodeName, tls, rings) : null);
        current = fresh;
        if (old != null) {
            old.shutdown(true);
        }
        return fresh;
    }
}
