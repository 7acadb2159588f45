package dev.crescent.transfer.tcp;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;

/**
 * One pipelined connection to a peer's transfer server. Senders write requests back to back under a lock; one
 * reader thread takes the in-order responses and reads READ payloads straight into the caller's memory. When the
 * connection breaks, every slice still on it is handed to {@code onBroken} to be retried elsewhere.
 */
final class PeerChannel {
    private static final AtomicLong IDS = new AtomicLong();

    private final TransferChannel channel;
    private final ConcurrentHashMap<Long, Slice> pending = new ConcurrentHashMap<>();
    private final ReentrantLock sendLock = new ReentrantLock();
    private final RequestWriter out = new RequestWriter();
    private final Consumer<Slice> onBroken;
    private final AtomicLong inFlightBytes = new AtomicLong();
    private volatile boolean broken;

    private PeerChannel(TransferChannel channel, Consumer<Slice> onBroken) {
        this.channel = channel;
        this.onBroken = onBroken;
    }

    /** Connects and shakes hands within {@code timeout}; throws IOException on any failure. */
    static PeerChannel open(
            InetSocketAddress address,
            String engineName,
            Duration timeout,
            ScheduledExecutorService timer,
            SSLContext tls,
            Consumer<Slice> onBroken)
            throws IOException {
        PeerChannel peer = new PeerChannel(PeerSocket.open(address, engineName, timeout, timer, tls), onBroken);
        Thread.ofPlatform().name("crescent-tcp-read").daemon().start(peer::readLoop);
        return peer;
    }

    boolean isBroken() {
        return broken;
    }

    int inFlight() {
        return pending.size();
    }

    /** Bytes of the slices sent on this connection and not yet answered. */
    long inFlightBytes() {
        return inFlightBytes.get();
    }

    /** Counts the slice as in flight here before it is written, so routing the next slice sees it. */
    void register(Slice slice) {
        slice.requestId = IDS.incrementAndGet();
        inFlightBytes.addAndGet(slice.length());
        pending.put(slice.requestId, slice);
    }

    /** Writes the requests of registered slices; a failure to send breaks the connection and they are retried. */
    void sendAll(List<Slice> slices) {
        sendLock.lock();
        try {
            if (broken) {
                throw new IOException("connection closed");
            }
            out.write(channel, slices);
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
        } finally {
            sendLock.unlock();
        }
    }

    /** Fails slices past their deadline. The connection is dropped: a late answer must not land in reused memory. */
    void expire(long nowNanos) {
        boolean expired = false;
        for (var entry : pending.entrySet()) {
            Slice slice = entry.getValue();
            if (nowNanos - slice.deadlineNanos > 0 && take(entry.getKey(), slice)) {
                slice.done.completeExceptionally(
                        new StoreException(ErrorCode.RPC_TIMEOUT, "no answer within the transfer timeout"));
                expired = true;
            }
        }
        if (expired) {
            breakConnection(new IOException("slice timed out"));
        }
    }

    void close() {
        breakConnection(new IOException("transport closing"));
    }

    private void readLoop() {
        ResponseReader in = new ResponseReader(channel);
        try {
            while (true) {
                long id = in.next();
                Slice slice = pending.get(id);
                if (slice == null) {
                    throw new IOException("response for unknown request " + id);
                }
                in.readPayload(slice);
                if (take(id, slice)) {
                    in.complete(slice);
                }
            }
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
        }
    }

    private void breakConnection(Exception cause) {
        broken = true;
        channel.closeQuietly();
        for (var entry : pending.entrySet()) {
            if (take(entry.getKey(), entry.getValue())) {
                onBroken.accept(entry.getValue());
            }
        }
    }

    /** Removes an answered, expired or orphaned slice exactly once; only the remover may complete it. */
    private boolean take(long id, Slice slice) {
        if (pending.remove(id, slice)) {
            inFlightBytes.addAndGet(-slice.length());
            return true;
        }
        return false;
    }
}
