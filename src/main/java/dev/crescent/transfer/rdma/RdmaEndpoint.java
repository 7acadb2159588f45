package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A connected RC queue pair on one device to one peer: brought from RESET to RTS with the peer's handshake, then
 * used to post one-sided READs and WRITEs. At most {@code queueDepth} work requests are in flight; a sender waits
 * for a free slot (back-pressure instead of a full send queue).
 */
final class RdmaEndpoint implements AutoCloseable {
    static final int OP_READ = 1;
    static final int OP_WRITE = 2;

    private final RdmaDevice device;
    private final MemorySegment qp;
    private final Semaphore credits;
    private final RdmaHandshake local;
    private volatile QueuePairState state = QueuePairState.RESET;
    private RdmaHandshake remote;
    private List<MemoryRegions.Chunk> remoteChunks = List.of();

    private RdmaEndpoint(RdmaDevice device, RdmaSettings settings) {
        this.device = device;
        RdmaShim.CreatedQp created =
                device.shim.createQp(device.protectionDomain, device.completionQueue, settings.queueDepth());
        this.qp = created.handle();
        this.credits = new Semaphore(settings.queueDepth());
        try {
            device.shim.qpInit(qp, device.portNumber);
            state = state.moveTo(QueuePairState.INIT);
        } catch (RuntimeException e) {
            device.shim.destroyQp(qp);
            throw e;
        }
        RdmaShim.Port port = device.port;
        this.local = new RdmaHandshake(
                device.name,
                created.number(),
                ThreadLocalRandom.current().nextInt(1 << 24),
                port.lid(),
                Math.clamp(port.activeMtu(), 1, 5),
                port.linkLayer() == 2 ? 2 : 1,
                port.gid(),
                0,
                List.of());
    }

    /** Connecting side: sends its handshake through {@code exchange} (the TCP control channel) and connects. */
    static RdmaEndpoint connect(RdmaDevice device, RdmaSettings settings, UnaryOperator<RdmaHandshake> exchange) {
        RdmaEndpoint endpoint = new RdmaEndpoint(device, settings);
        try {
            endpoint.ready(exchange.apply(endpoint.local), settings.gidIndex());
            return endpoint;
        } catch (RuntimeException e) {
            endpoint.close();
            throw e;
        }
    }

    /** Serving side: connects to the peer's handshake; @return the handshake to answer with (with remote keys). */
    static RdmaEndpoint accept(RdmaDevice device, RdmaSettings settings, RdmaHandshake peer) {
        RdmaEndpoint endpoint = new RdmaEndpoint(device, settings);
        try {
            endpoint.ready(peer, settings.gidIndex());
            return endpoint;
        } catch (RuntimeException e) {
            endpoint.close();
            throw e;
        }
    }

    RdmaHandshake localHandshake(long baseAddress, List<RdmaHandshake.RemoteRegion> regions) {
        return new RdmaHandshake(
                local.device(),
                local.qpNumber(),
                local.psn(),
                local.lid(),
                local.mtu(),
                local.linkLayer(),
                local.gid(),
                baseAddress,
                regions);
    }

    private void ready(RdmaHandshake peer, int gidIndex) {
        this.remote = peer;
        List<MemoryRegions.Chunk> chunks = new ArrayList<>(peer.regions().size());
        for (RdmaHandshake.RemoteRegion region : peer.regions()) {
            chunks.add(new MemoryRegions.Chunk(chunks.size(), region.offset(), region.length()));
        }
        this.remoteChunks = chunks;
        int mtu = Math.min(local.mtu(), peer.mtu());
        RdmaHandshake path = new RdmaHandshake(
                peer.device(),
                peer.qpNumber(),
                peer.psn(),
                peer.lid(),
                mtu,
                peer.linkLayer(),
                peer.gid(),
                peer.baseAddress(),
                List.of());
        state.moveTo(QueuePairState.RTR);
        device.shim.qpReadyToReceive(qp, device.portNumber, path, gidIndex);
        state = QueuePairState.RTR;
        state.moveTo(QueuePairState.RTS);
        device.shim.qpReadyToSend(qp, local.psn());
        state = QueuePairState.RTS;
    }

    /**
     * Moves {@code local} (inside {@code registration}) to or from {@code remoteOffset} of the peer's segment,
     * cut where either side's memory regions end. Completes when every piece has completed.
     */
    CompletableFuture<Void> post(
            int op, MemorySegment local, LocalRegistration registration, long remoteOffset, long timeoutMillis) {
        if (!state.canPost()) {
            return CompletableFuture.failedFuture(
                    new StoreException(ErrorCode.TRANSFER_FAIL, "queue pair to " + remote.device() + " is " + state));
        }
        List<CompletableFuture<Void>> parts = new ArrayList<>(2);
        long localStart = registration.offsetOf(local);
        long done = 0;
        for (MemoryRegions.Piece remotePiece : MemoryRegions.locate(remoteChunks, remoteOffset, local.byteSize())) {
            RdmaHandshake.RemoteRegion region = remote.regions().get(remotePiece.chunk());
            long inner = 0;
            for (MemoryRegions.Piece localPiece :
                    MemoryRegions.locate(registration.chunks(device.name), localStart + done, remotePiece.length())) {
                long remoteAddress = remote.baseAddress() + region.offset() + remotePiece.offset() + inner;
                parts.add(postOne(
                        op,
                        local.asSlice(done + inner, localPiece.length()),
                        registration.localKey(device.name, localPiece.chunk()),
                        remoteAddress,
                        region.rkey(),
                        timeoutMillis));
                inner += localPiece.length();
            }
            done += remotePiece.length();
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    private CompletableFuture<Void> postOne(
            int op, MemorySegment piece, int lkey, long remoteAddress, int rkey, long timeoutMillis) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            if (!credits.tryAcquire(timeoutMillis, TimeUnit.MILLISECONDS)) {
                return CompletableFuture.failedFuture(
                        new StoreException(ErrorCode.RPC_TIMEOUT, "send queue to " + remote.device() + " stayed full"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new StoreException(ErrorCode.TRANSFER_FAIL, "interrupted"));
        }
        long id = device.poller.expect(status -> {
            credits.release();
            CompletionStatus completion = CompletionStatus.of(status);
            if (completion.ok()) {
                done.complete(null);
            } else {
                state = QueuePairState.ERROR;
                done.completeExceptionally(new RailFailure(device.name, completion));
            }
        });
        int rc = device.shim.postRdma(qp, op, id, piece, lkey, remoteAddress, rkey);
        if (rc < 0) {
            device.poller.forget(id);
            credits.release();
            state = QueuePairState.ERROR;
            done.completeExceptionally(new RailFailure(
                    device.name, new StoreException(ErrorCode.TRANSFER_FAIL, "ibv_post_send failed: errno " + -rc)));
        }
        return done.orTimeout(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        state = QueuePairState.ERROR;
        device.shim.destroyQp(qp);
    }

    /** A slice that failed on a rail, and whether another rail may do better. */
    static final class RailFailure extends StoreException {
        final String rail;
        final boolean railFault;

        RailFailure(String rail, CompletionStatus status) {
            super(status.code(), "RDMA on " + rail + " failed: work completion " + status.name());
            this.rail = rail;
            this.railFault = status.railFault();
        }

        /** A failure of the rail itself (no handshake, no post): always worth another rail. */
        RailFailure(String rail, StoreException cause) {
            super(cause.code(), "RDMA on " + rail + ": " + cause.getMessage());
            this.rail = rail;
            this.railFault = true;
        }
    }
}
