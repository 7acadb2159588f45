package dev.crescent.transfer.tcp;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.Transport;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * Moves bytes to and from segments on other machines over TCP: each request is cut into slices, and each slice
 * lands at its own offset of the caller's buffer, so there is no reassembly copy. Submitted slices are pipelined
 * over several connections per peer; a caller that waits ({@link #runAll}) sends and reads its slices itself on a
 * connection it borrows.
 */
public final class TcpTransport implements Transport {
    private final String engineName;
    private final TcpSettings settings;
    /** TLS for peers whose servers speak it ({@code tls=1} in their endpoint); null: such peers are refused. */
    private final SSLContext tls;

    private final ConcurrentHashMap<String, PeerPool> peers = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Threads.daemonScheduler("crescent-tcp-timer");
    private volatile boolean closing;

    public TcpTransport(String engineName, TcpSettings settings) {
        this(engineName, settings, null);
    }

    /** @param tls the context to reach TLS transfer servers with (its trust store checks them); null: none */
    public TcpTransport(String engineName, TcpSettings settings, SSLContext tls) {
        this.engineName = engineName;
        this.settings = settings;
        this.tls = tls;
        timer.scheduleWithFixedDelay(this::expireSlow, 50, 50, TimeUnit.MILLISECONDS);
    }

    @Override
    public String name() {
        return "tcp";
    }

    @Override
    public boolean canReach(TransferRequest request) {
        return !PeerAddress.parse(request.remoteEndpoint()).tcp().isEmpty();
    }

    @Override
    public CompletableFuture<Void> submit(TransferRequest request) {
        return submitAll(List.of(request)).getFirst();
    }

    /** Cuts every request into slices, then hands each peer its slices at once (fewer writes for small ones). */
    @Override
    public List<CompletableFuture<Void>> submitAll(List<TransferRequest> requests) {
        Map<PeerPool, List<Slice>> byPeer = new LinkedHashMap<>();
        List<CompletableFuture<Void>> started = slice(requests, byPeer);
        byPeer.forEach(PeerPool::sendAll);
        return started;
    }

    /**
     * When every request goes to one peer, the calling thread moves the bytes itself on a connection of its own and
     * returns completed futures (see {@link DirectConnection}); requests to several peers go out pipelined, so the
     * peers work in parallel.
     */
    @Override
    public List<CompletableFuture<Void>> runAll(List<TransferRequest> requests) {
        Map<PeerPool, List<Slice>> byPeer = new LinkedHashMap<>();
        List<CompletableFuture<Void>> started = slice(requests, byPeer);
        if (byPeer.size() == 1) {
            byPeer.forEach(PeerPool::run);
        } else {
            byPeer.forEach(PeerPool::sendAll);
        }
        return started;
    }

    private List<CompletableFuture<Void>> slice(List<TransferRequest> requests, Map<PeerPool, List<Slice>> byPeer) {
        List<CompletableFuture<Void>> started = new ArrayList<>(requests.size());
        for (TransferRequest request : requests) {
            started.add(slice(request, byPeer));
        }
        return started;
    }

    /** Adds the request's slices to its peer's list; the future of the whole request (failed if it cannot start). */
    private CompletableFuture<Void> slice(TransferRequest request, Map<PeerPool, List<Slice>> byPeer) {
        if (closing) {
            return CompletableFuture.failedFuture(new StoreException(ErrorCode.TRANSFER_FAIL, "transport is closed"));
        }
        PeerAddress peer = PeerAddress.parse(request.remoteEndpoint());
        if (peer.tls() && tls == null) {
            return CompletableFuture.failedFuture(new StoreException(
                    ErrorCode.TRANSFER_FAIL,
                    "the transfer server at " + peer.tcp() + " speaks TLS only, and this engine has no TLS context"));
        }
        PeerPool pool;
        try {
            pool = peers.computeIfAbsent(peer.tcp(), target -> newPool(target, peer.tls()));
        } catch (StoreException e) {
            return CompletableFuture.failedFuture(e);
        }
        byte op = request.op() == TransferOp.READ ? TcpProtocol.OP_READ : TcpProtocol.OP_WRITE;
        byte[] segment = request.remoteSegment().getBytes(StandardCharsets.UTF_8);
        if (segment.length == 0 || segment.length > TcpProtocol.MAX_NAME_BYTES) {
            return CompletableFuture.failedFuture(new StoreException(
                    ErrorCode.INVALID_PARAMS, "segment name must be 1 to " + TcpProtocol.MAX_NAME_BYTES + " bytes"));
        }
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        MemorySegment local = request.local();
        long length = local.byteSize();
        int sliceBytes = settings.sliceBytes();
        int count = (int) Math.max(1, (length + sliceBytes - 1) / sliceBytes);
        List<Slice> slices = byPeer.computeIfAbsent(pool, p -> new ArrayList<>());
        CompletableFuture<?>[] parts = new CompletableFuture<?>[count];
        for (int i = 0; i < count; i++) {
            long offset = (long) i * sliceBytes;
            Slice slice = new Slice(
                    op,
                    segment,
                    request.remoteOffset() + offset,
                    local.asSlice(offset, Math.min(sliceBytes, length - offset)),
                    deadline,
                    request.ticket());
            parts[i] = slice.done;
            slices.add(slice);
        }
        return count == 1 ? parts[0].thenApply(ignored -> null) : CompletableFuture.allOf(parts);
    }

    /** Slices in flight to every peer (what a graceful close waits for). */
    public int inFlight() {
        return peers.values().stream().mapToInt(PeerPool::inFlight).sum();
    }

    /** Stops taking requests, lets slices in flight finish (up to {@code drainTimeout}), then closes. */
    public void close(Duration drainTimeout) {
        closing = true;
        Threads.awaitCondition(() -> inFlight() == 0, drainTimeout);
        peers.values().forEach(PeerPool::close);
        timer.shutdownNow();
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    private PeerPool newPool(String target, boolean overTls) {
        int colon = target.lastIndexOf(':');
        if (colon <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "tcp endpoint '" + target + "' is not host:port");
        }
        try {
            int port = Integer.parseInt(target.substring(colon + 1));
            InetSocketAddress address = new InetSocketAddress(target.substring(0, colon), port);
            return new PeerPool(target, address, settings, engineName, timer, overTls ? tls : null);
        } catch (IllegalArgumentException e) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "tcp endpoint '" + target + "': " + e.getMessage());
        }
    }

    private void expireSlow() {
        long now = System.nanoTime();
        peers.values().forEach(p -> p.expire(now));
    }
}
