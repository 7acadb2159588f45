package dev.crescent.transfer.tcp;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One connection to a peer's transfer server. Senders write requests back to back under a lock (pipelining);
 * one reader thread takes the in-order responses and reads READ payloads straight into the caller's memory.
 * When the connection breaks, every slice still on it is handed to {@code onBroken} to be retried elsewhere.
 */
final class PeerChannel {
    private static final AtomicLong IDS = new AtomicLong();
    private static final int SOCKET_BUFFER_BYTES = 4 << 20;
    /**
     * Answers are read through a buffer whose reads adapt to the payloads arriving: after a large READ payload a
     * read brings at most {@link #LARGE_PAYLOAD_FILL} bytes, leaving most of the next payload to go from the socket
     * straight into the caller's memory (measured: filling 64 KiB per read cost about a fifth of 64 KiB read
     * throughput in the extra copy); after a small one a read brings up to the whole buffer, many answers at once
     * (with 4 KiB reads, a 4 KiB answer took two reads).
     */
    private static final int RESPONSE_BUFFER_BYTES = 64 << 10;
    private static final int LARGE_PAYLOAD_FILL = 4096;
    /** READ payloads up to this size count as small. */
    private static final int SMALL_PAYLOAD_BYTES = 16 << 10;

    private final SocketChannel channel;
    private final ConcurrentHashMap<Long, Slice> pending = new ConcurrentHashMap<>();
    private final ReentrantLock sendLock = new ReentrantLock();
    private static final int MAX_REQUEST_HEADER_BYTES =
            TcpProtocol.REQUEST_HEADER_BYTES + TcpProtocol.MAX_NAME_BYTES + TcpProtocol.TICKET_BYTES;
    private ByteBuffer requestHeaders = ByteBuffer.allocateDirect(16 * MAX_REQUEST_HEADER_BYTES);
    private final Consumer<Slice> onBroken;
    private final AtomicLong inFlightBytes = new AtomicLong();
    private volatile boolean broken;

    private PeerChannel(SocketChannel channel, Consumer<Slice> onBroken) {
        this.channel = channel;
        this.onBroken = onBroken;
    }

    /** Connects and shakes hands within {@code timeout}; throws IOException on any failure. */
    static PeerChannel open(InetSocketAddress address, String engineName, Duration timeout,
                            ScheduledExecutorService timer, Consumer<Slice> onBroken) throws IOException {
        SocketChannel channel = SocketChannel.open();
        ScheduledFuture<?> guard = timer.schedule(() -> closeQuietly(channel), timeout.toMillis(),
                TimeUnit.MILLISECONDS);
        try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
            channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
            channel.connect(address);
            TcpProtocol.clientHandshake(channel, engineName, address);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            throw e instanceof IOException io ? io : new IOException(e);
        } finally {
            guard.cancel(false);
        }
        PeerChannel peer = new PeerChannel(channel, onBroken);
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

    /**
     * Writes the requests of registered slices back to back in one gathering write (a batch of small reads is one
     * system call, not one each); a failure to send breaks the connection and the slices are retried.
     */
    void sendAll(List<Slice> slices) {
        sendLock.lock();
        try {
            if (broken) {
                throw new IOException("connection closed");
            }
            ByteBuffer headers = headerSpace(slices.size());
            ByteBuffer[] frames = new ByteBuffer[slices.size() * 2];
            int count = 0;
            for (Slice slice : slices) {
                int start = headers.position();
                TcpProtocol.writeRequestHeader(headers, slice.op, slice.requestId, slice.remoteOffset,
                        slice.length(), slice.segmentName, slice.ticket);
                frames[count++] = headers.slice(start, headers.position() - start);
                if (slice.op == TcpProtocol.OP_WRITE) {
                    frames[count++] = slice.local.asByteBuffer();
                }
            }
            TcpProtocol.writeFully(channel, count == frames.length ? frames : Arrays.copyOf(frames, count));
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
        } finally {
            sendLock.unlock();
        }
    }

    /** Cleared room for {@code requests} request headers (grown as needed; guarded by the send lock). */
    private ByteBuffer headerSpace(int requests) {
        int needed = requests * MAX_REQUEST_HEADER_BYTES;
        if (requestHeaders.capacity() < needed) {
            requestHeaders = ByteBuffer.allocateDirect(Integer.highestOneBit(needed - 1) << 1);
        }
        return requestHeaders.clear();
    }

    /** Fails slices past their deadline. The connection is dropped: a late answer must not land in reused memory. */
    void expire(long nowNanos) {
        boolean expired = false;
        for (var entry : pending.entrySet()) {
            Slice slice = entry.getValue();
            if (nowNanos - slice.deadlineNanos > 0 && take(entry.getKey(), slice)) {
                slice.done.completeExceptionally(new StoreException(ErrorCode.RPC_TIMEOUT,
                        "no answer within the transfer timeout"));
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
        FrameReader in = new FrameReader(channel, RESPONSE_BUFFER_BYTES);
        in.fillLimit(LARGE_PAYLOAD_FILL);
        try {
            while (true) {
                ByteBuffer header = in.require(TcpProtocol.RESPONSE_HEADER_BYTES);
                long id = header.getLong();
                int code = header.getInt();
                int messageLength = header.getInt();
                long payloadLength = header.getLong();
                if (messageLength < 0 || messageLength > TcpProtocol.MAX_MESSAGE_BYTES) {
                    throw new IOException("bad response: message length " + messageLength);
                }
                byte[] message = new byte[messageLength];
                if (messageLength > 0) {
                    in.require(messageLength).get(message);
                }
                Slice slice = pending.get(id);
                if (slice == null) {
                    throw new IOException("response for unknown request " + id);
                }
                if (code == 0 && slice.op == TcpProtocol.OP_READ) {
                    if (payloadLength != slice.length()) {
                        throw new IOException("response carries " + payloadLength + " bytes, asked " + slice.length());
                    }
                    in.readInto(slice.local.asByteBuffer());
                    in.fillLimit(payloadLength <= SMALL_PAYLOAD_BYTES ? RESPONSE_BUFFER_BYTES : LARGE_PAYLOAD_FILL);
                } else if (payloadLength != 0) {
                    throw new IOException("unexpected payload of " + payloadLength + " bytes");
                }
                if (take(id, slice)) {
                    if (code == 0) {
                        slice.done.complete(null);
                    } else {
                        slice.done.completeExceptionally(TcpProtocol.remoteError(code, message));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            breakConnection(e);
        }
    }

    private void breakConnection(Exception cause) {
        broken = true;
        closeQuietly(channel);
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

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }
}
