package dev.crescent.transfer.tcp;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;
import dev.crescent.transfer.RangeFences;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferTicket;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;

/**
 * Serves READ and WRITE requests for the segments registered in {@link RegisteredMemory}. One platform thread per
 * connection moves payloads straight between the socket and segment memory (direct buffers: no copy in Java).
 * Every range is checked against what was registered before a byte moves. A watchdog closes connections that
 * do not finish the handshake, or stall in the middle of a frame, within their deadlines, so garbage or a slow
 * peer cannot wedge a thread forever.
 */
public final class TcpTransferServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TcpTransferServer.class);
    private static final int SOCKET_BUFFER_BYTES = 4 << 20;
    /** At most this many answers wait for the next flush... */
    private static final int MAX_HELD_ANSWERS = 64;
    /** ...and none waits while a write payload larger than this is read (it would delay the answer too long). */
    private static final long HOLD_ACROSS_PAYLOAD_BYTES = 256 << 10;

    private final RegisteredMemory memory;
    /** Verifies transfer tickets; null when this server does not enforce access. */
    private final TicketSigner tickets;

    private final SSLContext tls;

    private final ServerSocketChannel server;
    private final TcpServerLimits limits;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService watchdog = Threads.daemonScheduler("crescent-tcp-watchdog");
    private volatile boolean closing;
    private final LongAdder refused = new LongAdder();
    private volatile RdmaConnectHandler rdma;
    /** Closes connections moving bytes of a range the master just freed under a ticket issued before. */
    private final RangeFences.Listener abortRevoked = this::abortRevoked;

    /** Answers RDMA handshakes that arrive over this server's connections (op {@link TcpProtocol#OP_RDMA_CONNECT}). */
    public interface RdmaConnectHandler {
        /** @return this side's encoded handshake; throws StoreException to refuse */
        byte[] connect(String segment, byte[] peerHandshake);
    }

    /** Starts answering RDMA handshakes (without a handler they are refused with TRANSFER_FAIL). */
    public void serveRdma(RdmaConnectHandler handler) {
        this.rdma = handler;
    }

    public TcpTransferServer(
            RegisteredMemory memory, InetSocketAddress bind, Duration handshakeTimeout, Duration frameTimeout)
            throws IOException {
        this(memory, bind, TcpServerLimits.of(handshakeTimeout, frameTimeout), null);
    }

    /** @param tickets when not null, only requests with a valid ticket for their range are served */
    public TcpTransferServer(
            RegisteredMemory memory, InetSocketAddress bind, TcpServerLimits limits, TicketSigner tickets)
            throws IOException {
        this(memory, bind, limits, tickets, null);
    }

    /** @param tls when not null, every connection is TLS with this context's key (plain TCP is refused) */
    public TcpTransferServer(
            RegisteredMemory memory,
            InetSocketAddress bind,
            TcpServerLimits limits,
            TicketSigner tickets,
            SSLContext tls)
            throws IOException {
        this.tls = tls;
        this.memory = memory;
        this.tickets = tickets;
        this.limits = limits;
        if (tickets != null) {
            memory.fences().onFence(abortRevoked);
        }
        this.server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(bind, 256);
        Thread.ofPlatform().name("crescent-tcp-accept").daemon().start(this::acceptLoop);
        watchdog.scheduleWithFixedDelay(this::closeStalled, 100, 100, TimeUnit.MILLISECONDS);
    }

    public int port() {
        try {
            return ((InetSocketAddress) server.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new IllegalStateException("transfer server is closed", e);
        }
    }

    public int connectionCount() {
        return connections.size();
    }

    /**
     * Accepts until closed. Nothing a peer does ends this loop: past the connection cap a new connection is closed
     * at once, and a connection whose thread cannot be started (the process is out of threads or memory) is closed
     * while the loop goes on.
     */
    private void acceptLoop() {
        while (!closing) {
            SocketChannel channel = null;
            try {
                channel = server.accept();
                if (connections.size() >= limits.maxConnections()) {
                    refused.increment();
                    LOG.debugf("connection refused: %d connections open", connections.size());
                    channel.close();
                    continue;
                }
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
                channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
                Connection connection;
                try {
                    connection = new Connection(
                            tls == null ? TransferChannel.plain(channel) : TlsChannel.server(channel, tls));
                } catch (RuntimeException e) {
                    channel.close();
                    throw e;
                }
                connections.add(connection);
                try {
                    Thread.ofPlatform().name("crescent-tcp-serve").daemon().start(connection);
                } catch (OutOfMemoryError | RuntimeException e) {
                    connection.abort("no thread to serve it: " + e);
                    LOG.warnf("transfer connection dropped: %s", e.toString());
                    Threads.sleepQuietly(Duration.ofMillis(10));
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException | RuntimeException | OutOfMemoryError e) {
                closeQuietly(channel);
                if (!closing) {
                    LOG.warnf("accept failed: %s", e.toString());
                    Threads.sleepQuietly(Duration.ofMillis(10));
                }
            }
        }
    }

    /** Connections closed at once because {@code max-connections} were open. */
    public long refusedConnections() {
        return refused.sum();
    }

    private static void closeQuietly(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Gone either way.
            }
        }
    }

    private void closeStalled() {
        long now = System.nanoTime();
        for (Connection c : connections) {
            long started = c.frameStartNanos;
            if (!c.handshaken && now - c.openedNanos > limits.handshakeTimeout().toNanos()) {
                c.abort("no handshake within " + limits.handshakeTimeout());
            } else if (started != 0 && now - started > limits.frameTimeout().toNanos()) {
                c.abort("frame not finished within " + limits.frameTimeout());
            } else if (started == 0
                    && now - c.lastFrameNanos > limits.idleTimeout().toNanos()) {
                c.abort("idle for " + limits.idleTimeout());
            }
        }
    }

    /**
     * A fence was raised: a transfer already past its ticket check under a ticket the fence revokes must not move
     * another byte, or a reader could receive, and a writer overwrite, the range's next occupant. Its connection is
     * closed; closing waits until the thread has left the socket call, and the range is scrubbed only after this.
     */
    private void abortRevoked(RangeFences.Fence fence) {
        long now = System.currentTimeMillis();
        for (Connection c : connections) {
            String segment = c.servingSegment;
            if (fence.segment().equals(segment)
                    && fence.overlaps(c.servingOffset, c.servingEnd)
                    && RangeFences.isRevoked(fence, c.servingIssuedMicros, now)) {
                c.abort("its ticket was revoked mid-transfer");
            }
        }
    }

    /**
     * Stops accepting, lets requests already being served finish (up to {@code drainTimeout}), then closes every
     * connection.
     */
    public void close(Duration drainTimeout) {
        closing = true;
        memory.fences().removeListener(abortRevoked);
        try {
            server.close();
        } catch (IOException ignored) {
            // Already closed.
        }
        Threads.awaitCondition(() -> connections.stream().noneMatch(c -> c.frameStartNanos != 0), drainTimeout);
        connections.forEach(c -> c.abort("server closing"));
        watchdog.shutdownNow();
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    private final class Connection implements Runnable {
        private final TransferChannel channel;
        private final long openedNanos = System.nanoTime();
        private final FrameReader in;
        /**
         * Answers not yet sent. While the peer has more requests waiting, answers are held and go out together in
         * one write (one syscall and one wake-up of the peer's reader instead of one per request); before the
         * server would block on the socket they are always sent.
         */
        private final ByteBuffer answers = ByteBuffer.allocateDirect(
                MAX_HELD_ANSWERS * (TcpProtocol.RESPONSE_HEADER_BYTES + TcpProtocol.MAX_MESSAGE_BYTES));

        private int heldAnswers;
        private volatile boolean handshaken;
        /** Non-zero while a frame is being received or answered. */
        private volatile long frameStartNanos;
        /** When the last frame started (or the connection opened): idle connections are closed. */
        private volatile long lastFrameNanos = openedNanos;
        /**
         * The ticketed range this connection is moving bytes of (segment null: none), written before the fences are
         * checked, so a fence raised meanwhile either refuses the ticket or finds the transfer here.
         */
        private volatile String servingSegment;

        private volatile long servingOffset;
        private volatile long servingEnd;
        private volatile long servingIssuedMicros;

        Connection(TransferChannel channel) {
            this.channel = channel;
            this.in = new FrameReader(channel, 64 * 1024);
        }

        @Override
        public void run() {
            try {
                handshake();
                while (!closing) {
                    serveOne();
                }
                flushAnswers();
            } catch (ProtocolViolation e) {
                LOG.debugf("closing connection from %s: %s", remote(), e.getMessage());
            } catch (IOException e) {
                // Peer went away or the watchdog closed us; nothing to answer.
            } finally {
                abort("done");
            }
        }

        private void handshake() throws IOException {
            if (channel instanceof TlsChannel secure) {
                secure.handshake(); // within the handshake timeout, like the protocol's hello
            }
            ByteBuffer hello = in.require(TcpProtocol.HANDSHAKE_BYTES);
            if (hello.getInt() != TcpProtocol.MAGIC) {
                throw new ProtocolViolation("not a Crescent transfer connection (bad magic)");
            }
            short version = hello.getShort();
            int nameLength = hello.getShort() & 0xffff;
            hello.getInt(); // capabilities: none defined in version 1
            hello.getInt(); // reserved
            if (nameLength > TcpProtocol.MAX_NAME_BYTES) {
                throw new ProtocolViolation("engine name too long");
            }
            in.skip(nameLength);
            if (version != TcpProtocol.VERSION) {
                TcpProtocol.writeFully(channel, TcpProtocol.handshakeReply(TcpProtocol.STATUS_BAD_VERSION));
                throw new ProtocolViolation("unsupported protocol version " + version);
            }
            TcpProtocol.writeFully(channel, TcpProtocol.handshakeReply(TcpProtocol.STATUS_OK));
            handshaken = true;
        }

        private void serveOne() throws IOException {
            if (!in.awaitData()) {
                throw new ClosedChannelException();
            }
            frameStartNanos = System.nanoTime();
            lastFrameNanos = frameStartNanos;
            ByteBuffer header = in.require(TcpProtocol.REQUEST_HEADER_BYTES);
            byte op = header.get();
            byte flags = header.get();
            int nameLength = header.getShort() & 0xffff;
            header.getInt();
            long requestId = header.getLong();
            long offset = header.getLong();
            long length = header.getLong();
            boolean control = op == TcpProtocol.OP_RDMA_CONNECT;
            if (op != TcpProtocol.OP_READ && op != TcpProtocol.OP_WRITE && !control) {
                throw new ProtocolViolation("unknown op " + op);
            }
            if (control && length > TcpProtocol.MAX_CONTROL_BYTES) {
                throw new ProtocolViolation("control payload of " + length + " bytes");
            }
            if (nameLength == 0 || nameLength > TcpProtocol.MAX_NAME_BYTES) {
                throw new ProtocolViolation("bad segment name length " + nameLength);
            }
            if (length <= 0 || length > TcpProtocol.MAX_FRAME_BYTES) {
                throw new ProtocolViolation("bad frame length " + length);
            }
            if ((flags & ~(TcpProtocol.FLAG_TICKET | TcpProtocol.FLAG_REVOKING)) != 0) {
                throw new ProtocolViolation("unknown request flags " + flags);
            }
            boolean revoking = (flags & TcpProtocol.FLAG_REVOKING) != 0;
            if (revoking && (op != TcpProtocol.OP_WRITE || (flags & TcpProtocol.FLAG_TICKET) == 0)) {
                throw new ProtocolViolation("only a ticketed write revokes");
            }
            ByteBuffer names = in.require(nameLength);
            byte[] nameBytes = new byte[nameLength];
            names.get(nameBytes);
            String segment = new String(nameBytes, StandardCharsets.UTF_8);
            TransferTicket ticket = (flags & TcpProtocol.FLAG_TICKET) == 0
                    ? null
                    : TcpProtocol.readTicket(in.require(TcpProtocol.TICKET_BYTES), op, segment, revoking);
            if (control) {
                serveRdmaConnect(requestId, segment, (int) length);
                return;
            }
            MemorySegment target;
            try {
                if (tickets != null) {
                    long now = System.currentTimeMillis();
                    tickets.verify(
                            ticket,
                            op == TcpProtocol.OP_READ ? TransferOp.READ : TransferOp.WRITE,
                            segment,
                            offset,
                            length,
                            now);
                    servingOffset = offset;
                    servingEnd = offset + length;
                    servingIssuedMicros = ticket.issuedAtMicros();
                    servingSegment = segment;
                    if (ticket.revokes()) {
                        memory.fences().raise(ticket, now);
                    } else {
                        memory.fences().check(ticket, offset, length, now);
                    }
                }
                target = memory.slice(segment, offset, length);
            } catch (StoreException e) {
                servingSegment = null;
                if (op == TcpProtocol.OP_WRITE) {
                    in.skip(length);
                }
                answer(requestId, e);
                return;
            }
            if (op == TcpProtocol.OP_WRITE) {
                if (length > HOLD_ACROSS_PAYLOAD_BYTES) {
                    flushAnswers();
                }
                in.readInto(target.asByteBuffer());
                servingSegment = null;
                answer(requestId, null);
            } else {
                // Held answers go first, in the same gathering write as this answer and its payload. (sendfile from
                // the segment's shm file is slower on loopback: DESIGN.md section 9.)
                TcpProtocol.writeResponseHeader(answers, requestId, 0, new byte[0], length);
                TcpProtocol.writeFully(channel, answers.flip(), target.asByteBuffer());
                servingSegment = null;
                answers.clear();
                heldAnswers = 0;
                frameStartNanos = 0;
            }
        }

        /** An RDMA handshake: the peer's in the payload, ours (or an error) in the answer. */
        private void serveRdmaConnect(long requestId, String segment, int length) throws IOException {
            ByteBuffer hello = ByteBuffer.allocate(length);
            in.readInto(hello);
            byte[] reply;
            try {
                if (rdma == null) {
                    throw new StoreException(ErrorCode.TRANSFER_FAIL, "this worker does not serve RDMA");
                }
                reply = rdma.connect(segment, hello.array());
            } catch (StoreException e) {
                answer(requestId, e);
                return;
            }
            flushAnswers();
            TcpProtocol.writeResponseHeader(answers, requestId, 0, new byte[0], reply.length);
            TcpProtocol.writeFully(channel, answers.flip(), ByteBuffer.wrap(reply));
            answers.clear();
            frameStartNanos = 0;
        }

        private void answer(long requestId, StoreException error) throws IOException {
            if (error == null) {
                TcpProtocol.writeResponseHeader(answers, requestId, 0, new byte[0], 0);
            } else {
                TcpProtocol.writeResponseHeader(
                        answers, requestId, error.code().number(), TcpProtocol.errorMessage(error), 0);
            }
            heldAnswers++;
            if (heldAnswers == MAX_HELD_ANSWERS || !moreRequestsWaiting()) {
                flushAnswers();
            }
        }

        private boolean moreRequestsWaiting() throws IOException {
            return in.buffered() > 0 || channel.available() > 0;
        }

        /** Sends held answers; the frame counts as finished (for drain and the watchdog) only once they are out. */
        private void flushAnswers() throws IOException {
            if (heldAnswers > 0) {
                TcpProtocol.writeFully(channel, answers.flip());
                answers.clear();
                heldAnswers = 0;
            }
            frameStartNanos = 0;
        }

        private String remote() {
            try {
                return String.valueOf(channel.getRemoteAddress());
            } catch (IOException e) {
                return "?";
            }
        }

        void abort(String why) {
            if (connections.remove(this)) {
                LOG.debugf("connection closed: %s", why);
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing anyway.
            }
        }
    }

    /** A peer broke the protocol; the stream cannot be trusted any more. */
    private static final class ProtocolViolation extends IOException {
        ProtocolViolation(String message) {
            super(message);
        }
    }
}
