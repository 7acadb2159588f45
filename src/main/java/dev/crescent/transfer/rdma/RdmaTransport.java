package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.Transport;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Moves bytes with one-sided RDMA READ/WRITE between registered local memory and a peer's registered segment.
 * A request is cut into slices spread over the rails the topology prefers; a slice that fails for a rail's sake is
 * retried on another rail (up to max-attempts), the rail's failures count toward pausing it, and its queue pair is
 * dropped from the endpoint cache. Requests whose local memory is not registered with RDMA, or whose peer does not
 * serve RDMA, are not this transport's: the engine sends them over TCP.
 */
public final class RdmaTransport implements Transport {
    private final RdmaRuntime runtime;
    private final String engineName;
    private final EndpointCache<EndpointKey, RdmaEndpoint> endpoints;
    private final AtomicInteger rotation = new AtomicInteger();

    private record EndpointKey(String tcp, String segment, String rail) {}

    public RdmaTransport(RdmaRuntime runtime, String engineName) {
        this.runtime = runtime;
        this.engineName = engineName;
        this.endpoints = new EndpointCache<>(runtime.settings.endpointCacheSize());
    }

    @Override
    public String name() {
        return "rdma";
    }

    @Override
    public boolean canReach(TransferRequest request) {
        PeerAddress peer = PeerAddress.parse(request.remoteEndpoint());
        return !peer.rdma().isEmpty() && !peer.tcp().isEmpty() && runtime.registrationOf(request.local()) != null;
    }

    @Override
    public CompletableFuture<Void> submit(TransferRequest request) {
        LocalRegistration registration = runtime.registrationOf(request.local());
        if (registration == null) {
            return CompletableFuture.failedFuture(
                    new StoreException(ErrorCode.INVALID_PARAMS, "local memory is not registered for RDMA"));
        }
        String tcp = PeerAddress.parse(request.remoteEndpoint()).tcp();
        List<SlicePlanner.Slice> slices;
        try {
            slices = runtime.planner.plan(request.length(), runtime.rails(), rotation.getAndIncrement());
        } catch (StoreException e) {
            return CompletableFuture.failedFuture(e);
        }
        List<CompletableFuture<Void>> parts = new ArrayList<>(slices.size());
        for (SlicePlanner.Slice slice : slices) {
            parts.add(sendSlice(request, registration, tcp, slice, slice.rail(), new HashSet<>(), 1));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    private CompletableFuture<Void> sendSlice(
            TransferRequest request,
            LocalRegistration registration,
            String tcp,
            SlicePlanner.Slice slice,
            String rail,
            Set<String> failedRails,
            int attempt) {
        EndpointKey key = new EndpointKey(tcp, request.remoteSegment(), rail);
        CompletableFuture<Void> sent = null;
        RdmaEndpoint endpoint = null;
        try {
            endpoint = endpoints.get(key, k -> connect(k, rail));
        } catch (StoreException e) {
            // A peer that refuses (access control, unknown segment, bad handshake) refuses on every rail.
            boolean refused = e.code() == ErrorCode.PERMISSION_DENIED
                    || e.code() == ErrorCode.SEGMENT_NOT_FOUND
                    || e.code() == ErrorCode.INVALID_PARAMS;
            sent = CompletableFuture.failedFuture(refused ? e : new RdmaEndpoint.RailFailure(rail, e));
        }
        if (endpoint != null) {
            try {
                sent = endpoint.post(
                        request.op() == TransferOp.READ ? RdmaEndpoint.OP_READ : RdmaEndpoint.OP_WRITE,
                        request.local().asSlice(slice.offset(), slice.length()),
                        registration,
                        request.remoteOffset() + slice.offset(),
                        runtime.settings.timeout().toMillis());
            } catch (StoreException e) { // a range outside the peer's registered regions: the request's fault
                sent = CompletableFuture.failedFuture(e);
            }
        }
        return sent.thenRun(() -> runtime.health.succeeded(rail)).exceptionallyCompose(failure -> {
            Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
            boolean railFault =
                    cause instanceof RdmaEndpoint.RailFailure f && f.railFault || cause instanceof TimeoutException;
            if (!railFault) {
                return CompletableFuture.failedFuture(cause);
            }
            runtime.health.failed(rail);
            endpoints.invalidate(key);
            failedRails.add(rail);
            if (attempt >= runtime.settings.maxAttempts()) {
                return CompletableFuture.failedFuture(new StoreException(
                        ErrorCode.TRANSFER_FAIL,
                        "RDMA slice failed " + attempt + " times (rails " + failedRails + "): " + cause.getMessage()));
            }
            String next;
            try {
                next = runtime.planner.retryRail(runtime.rails(), failedRails);
            } catch (StoreException none) {
                return CompletableFuture.failedFuture(none);
            }
            return sendSlice(request, registration, tcp, slice, next, failedRails, attempt + 1);
        });
    }

    private RdmaEndpoint connect(EndpointKey key, String rail) {
        RdmaDevice device = runtime.devices.get(rail);
        return RdmaEndpoint.connect(
                device,
                runtime.settings,
                hello -> RdmaControlChannel.exchange(
                        key.tcp(), key.segment(), hello, engineName, runtime.settings.timeout()));
    }

    @Override
    public void close() {
        endpoints.close();
    }
}
