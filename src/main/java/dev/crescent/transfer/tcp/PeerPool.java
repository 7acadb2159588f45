package dev.crescent.transfer.tcp;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.IdleConnections;
import dev.crescent.common.StoreException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import javax.net.ssl.SSLContext;

/**
 * The connections to one peer. Slices that nobody waits for go to the least busy of the pipelined connections (see
 * {@link #pickSlot}); slices a caller waits for run on a {@link DirectConnection} of its own (see {@link #run}). A
 * slice whose connection broke is retried on another connection (reconnecting as needed) until it runs out of
 * attempts or time. Connection failures feed the peer's health: a peer that keeps failing is blacklisted and
 * answers at once instead of timing out.
 */
final class PeerPool {
    private final String label;
    private final InetSocketAddress address;
    private final TcpSettings settings;
    private final String engineName;
    private final ScheduledExecutorService timer;
    /** TLS for every connection to this peer (it serves TLS only); null: plain TCP. */
    private final SSLContext tls;

    private final PeerChannel[] channels;
    /** Outstanding bytes on a connection before the next slice goes to another one. */
    private static final long SPREAD_BYTES = 1L << 20;

    private final PeerHealth health;
    /** Direct connections kept open for the next caller; more than this many idle ones are closed. */
    private static final int MAX_IDLE_DIRECT = 32;

    private final IdleConnections<DirectConnection> idleDirect =
            new IdleConnections<>(MAX_IDLE_DIRECT, DirectConnection::close);
    private final Set<DirectConnection> busyDirect = ConcurrentHashMap.newKeySet();

    PeerPool(
            String label,
            InetSocketAddress address,
            TcpSettings settings,
            String engineName,
            ScheduledExecutorService timer,
            SSLContext tls) {
        this.label = label;
        this.tls = tls;
        this.address = address;
        this.settings = settings;
        this.engineName = engineName;
        this.timer = timer;
        this.channels = new PeerChannel[settings.connectionsPerPeer()];
        this.health = new PeerHealth(
                settings.blacklistFailures(),
                settings.blacklistWindow().toNanos(),
                settings.blacklistCooldown().toNanos());
    }

    void send(Slice slice) {
        sendAll(List.of(slice));
    }

    /**
     * Routes each slice to a connection, counting it there before the next is routed (so a large batch still
     * spreads), then writes each connection's share in one go.
     */
    void sendAll(List<Slice> slices) {
        Map<PeerChannel, List<Slice>> byChannel = new LinkedHashMap<>();
        for (Slice slice : slices) {
            PeerChannel channel = route(slice);
            if (channel != null) {
                byChannel.computeIfAbsent(channel, c -> new ArrayList<>()).add(slice);
            }
        }
        byChannel.forEach(PeerChannel::sendAll);
    }

    /** The connection the slice's next attempt goes on, with the slice registered there; null when it failed. */
    private PeerChannel route(Slice slice) {
        if (!admit(slice)) {
            return null;
        }
        int slot = pickSlot(slice);
        slice.lastSlot = slot;
        PeerChannel channel;
        try {
            channel = channel(slot);
        } catch (IOException e) {
            health.failure(System.nanoTime(), "connect: " + e.getMessage());
            return route(slice);
        }
        channel.register(slice);
        return channel;
    }

    /**
     * Runs the slices on the calling thread, on a direct connection borrowed for the run, and returns when each is
     * complete. Slices left unanswered by a broken connection are retried on another one.
     */
    void run(List<Slice> slices) {
        List<Slice> left = slices;
        while (!left.isEmpty()) {
            List<Slice> admitted = new ArrayList<>(left.size());
            for (Slice slice : left) {
                if (admit(slice)) {
                    admitted.add(slice);
                }
            }
            if (admitted.isEmpty()) {
                return;
            }
            DirectConnection connection = null;
            try {
                connection = borrowDirect();
                connection.run(admitted);
                releaseDirect(connection);
            } catch (IOException e) {
                if (connection != null) {
                    busyDirect.remove(connection);
                    // The idle ones likely went the same way (a peer restart): the retry should not meet them.
                    idleDirect.closeIdle();
                }
                health.failure(
                        System.nanoTime(), (connection == null ? "connect: " : "connection broken: ") + e.getMessage());
            }
            left = admitted.stream().filter(slice -> !slice.done.isDone()).toList();
        }
    }

    /**
     * Counts the slice's next attempt; false, with the slice failed, when it is past its deadline, out of attempts
     * or the peer is blacklisted.
     */
    private boolean admit(Slice slice) {
        long now = System.nanoTime();
        if (now - slice.deadlineNanos > 0) {
            slice.done.completeExceptionally(
                    new StoreException(ErrorCode.RPC_TIMEOUT, "transfer to " + label + " timed out"));
            return false;
        }
        if (slice.attempts >= settings.maxAttempts()) {
            slice.done.completeExceptionally(new StoreException(
                    ErrorCode.TRANSFER_FAIL,
                    "transfer to " + label + " failed after " + slice.attempts + " attempts: " + health.lastError()));
            return false;
        }
        long blacklisted = health.blacklistedForMillis(now);
        if (blacklisted > 0) {
            slice.done.completeExceptionally(new StoreException(
                    ErrorCode.TRANSFER_FAIL,
                    "peer " + label + " is blacklisted for " + blacklisted + " ms after repeated failures: "
                            + health.lastError()));
            return false;
        }
        slice.attempts++;
        return true;
    }

    private DirectConnection borrowDirect() throws IOException {
        DirectConnection connection = idleDirect.poll();
        if (connection == null) {
            connection = new DirectConnection(PeerSocket.open(address, engineName, settings.timeout(), timer, tls));
            health.success();
        }
        busyDirect.add(connection);
        if (idleDirect.isClosed()) {
            connection.close();
        }
        return connection;
    }

    private void releaseDirect(DirectConnection connection) {
        busyDirect.remove(connection);
        if (connection.isBroken()) {
            connection.close();
        } else {
            idleDirect.offer(connection);
        }
    }

    /**
     * The first connection with less than {@link #SPREAD_BYTES} outstanding: small requests pipeline on few
     * connections (fewer threads to wake on a small machine), large transfers spread over all of them. A retry
     * never takes the slot that just failed.
     */
    private int pickSlot(Slice slice) {
        int best = -1;
        long bestBytes = Long.MAX_VALUE;
        synchronized (this) {
            for (int slot = 0; slot < channels.length; slot++) {
                if (slot == slice.lastSlot && channels.length > 1) {
                    continue;
                }
                PeerChannel c = channels[slot];
                long outstanding = c == null || c.isBroken() ? 0 : c.inFlightBytes();
                if (outstanding < SPREAD_BYTES) {
                    return slot;
                }
                if (outstanding < bestBytes) {
                    best = slot;
                    bestBytes = outstanding;
                }
            }
        }
        return best;
    }

    /** Slices in flight over every connection. */
    int inFlight() {
        int total = 0;
        for (PeerChannel c : snapshot()) {
            total += c.inFlight();
        }
        for (DirectConnection c : busyDirect) {
            total += c.inFlight();
        }
        return total;
    }

    void expire(long nowNanos) {
        for (PeerChannel c : snapshot()) {
            c.expire(nowNanos);
        }
        for (DirectConnection c : busyDirect) {
            c.expire(nowNanos);
        }
    }

    void close() {
        idleDirect.close();
        for (PeerChannel c : snapshot()) {
            c.close();
        }
        busyDirect.forEach(DirectConnection::close);
    }

    private synchronized PeerChannel[] snapshot() {
        int count = 0;
        for (PeerChannel c : channels) {
            count += c == null ? 0 : 1;
        }
        PeerChannel[] open = new PeerChannel[count];
        int i = 0;
        for (PeerChannel c : channels) {
            if (c != null) {
                open[i++] = c;
            }
        }
        return open;
    }

    private PeerChannel channel(int slot) throws IOException {
        synchronized (this) {
            PeerChannel current = channels[slot];
            if (current != null && !current.isBroken()) {
                return current;
            }
        }
        PeerChannel opened =
                PeerChannel.open(address, engineName, settings.timeout(), timer, tls, this::retryAfterBreak);
        synchronized (this) {
            PeerChannel current = channels[slot];
            if (current != null && !current.isBroken()) {
                opened.close();
                return current;
            }
            channels[slot] = opened;
        }
        health.success();
        return opened;
    }

    private void retryAfterBreak(Slice slice) {
        health.failure(System.nanoTime(), "connection broken");
        send(slice);
    }
}
