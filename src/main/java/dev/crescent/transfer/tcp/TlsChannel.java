package dev.crescent.transfer.tcp;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * A transfer connection under TLS: an {@link SSLEngine} between the protocol and a blocking socket channel. The
 * pipelined client writes from caller threads while its reader thread reads, which SSLEngine allows (wrap and
 * unwrap may run at the same time); each direction has its own buffers and lock. Writes gather several records
 * into one socket write, reads bring several records with one socket read: a megabyte is not 64 system calls.
 * Plaintext is copied once on each side, into and out of the records; that copy and the cipher are what TLS costs
 * the data path ({@code bin/bench tls}).
 */
final class TlsChannel implements TransferChannel {
    /** Records gathered per socket write and read at most per socket read. */
    private static final int RECORDS_PER_IO = 4;

    private static final ByteBuffer[] NOTHING = new ByteBuffer[0];

    private final SocketChannel socket;
    private final SSLEngine engine;
    private final int packetBytes;
    private final ReentrantLock writing = new ReentrantLock();
    private final ReentrantLock reading = new ReentrantLock();
    /** Ciphertext received and not yet unwrapped; kept in read mode (flipped) between calls. */
    private final ByteBuffer inNet;
    /** Plaintext unwrapped and not yet read; kept in read mode between calls. */
    private final ByteBuffer inPlain;
    /** Ciphertext to send; in write mode between calls. */
    private final ByteBuffer outNet;

    private TlsChannel(SocketChannel socket, SSLEngine engine) {
        this.socket = socket;
        this.engine = engine;
        this.packetBytes = engine.getSession().getPacketBufferSize();
        // Heap buffers: the JDK's AES-GCM works on arrays, and with direct buffers it ran 30 % slower here.
        this.inNet = ByteBuffer.allocate(RECORDS_PER_IO * packetBytes).flip();
        this.inPlain = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize())
                .flip();
        this.outNet = ByteBuffer.allocate(RECORDS_PER_IO * packetBytes);
    }

    /**
     * The client's side on a connected socket, past the TLS handshake. The server's certificate must name {@code
     * peer}'s host (as it is written in the endpoint: a name or an address).
     */
    static TlsChannel client(SocketChannel socket, SSLContext context, InetSocketAddress peer) throws IOException {
        SSLEngine engine = context.createSSLEngine(peer.getHostString(), peer.getPort());
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(parameters);
        TlsChannel channel = new TlsChannel(socket, engine);
        channel.handshake();
        return channel;
    }

    /** The server's side of an accepted socket; {@link #handshake} is left to the connection's own thread. */
    static TlsChannel server(SocketChannel socket, SSLContext context) {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        return new TlsChannel(socket, engine);
    }

    /** Runs the TLS handshake to its end; IOException when the peer refuses or goes away. */
    void handshake() throws IOException {
        engine.beginHandshake();
        while (true) {
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP -> wrapAndSend(NOTHING, 0, 0);
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    if (unwrapOnce() == null) {
                        throw new EOFException("connection closed during the TLS handshake");
                    }
                }
                case NEED_TASK -> runTasks();
                default -> {
                    return; // NOT_HANDSHAKING (FINISHED is only ever reported in a result)
                }
            }
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        reading.lock();
        try {
            while (!inPlain.hasRemaining()) {
                // Unwrapping straight into a large caller's buffer saved no time measurably (its memory is off-heap,
                // where the cipher is slower), so every record goes through ours.
                SSLEngineResult result = unwrapOnce();
                if (result == null || result.getStatus() == SSLEngineResult.Status.CLOSED) {
                    return -1;
                }
                answerHandshake(result.getHandshakeStatus()); // a key update, or a session ticket to process
            }
            int count = Math.min(dst.remaining(), inPlain.remaining());
            int limit = inPlain.limit();
            inPlain.limit(inPlain.position() + count);
            dst.put(inPlain);
            inPlain.limit(limit);
            return count;
        } finally {
            reading.unlock();
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return wrapAndSend(srcs, offset, length);
    }

    @Override
    public int available() {
        // Unread plaintext, or ciphertext that may hold a whole record: a read may not block.
        return inPlain.remaining() + inNet.remaining();
    }

    @Override
    public SocketChannel socket() {
        return socket;
    }

    /** Wraps all of {@code srcs} (nothing: one handshake message) into records and sends them; the bytes taken. */
    private long wrapAndSend(ByteBuffer[] srcs, int offset, int length) throws IOException {
        writing.lock();
        try {
            long taken = 0;
            do {
                outNet.clear();
                // Gather records while another one surely fits; a handshake message is one wrap.
                do {
                    SSLEngineResult result = engine.wrap(srcs, offset, length, outNet);
                    switch (result.getStatus()) {
                        case OK -> taken += result.bytesConsumed();
                        case CLOSED -> throw new ClosedChannelException();
                        default -> throw new SSLException("cannot wrap a record: " + result);
                    }
                    if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                        runTasks();
                    }
                } while (length > 0 && remaining(srcs, offset, length) && outNet.remaining() >= packetBytes);
                outNet.flip();
                while (outNet.hasRemaining()) {
                    socket.write(outNet);
                }
            } while (length > 0 && remaining(srcs, offset, length));
            return taken;
        } finally {
            writing.unlock();
        }
    }

    /**
     * Unwraps one record into {@link #inPlain} (compacted, so unread plaintext stays), reading the socket while the
     * record is incomplete. Null at the end of the stream.
     */
    private SSLEngineResult unwrapOnce() throws IOException {
        inPlain.compact();
        try {
            while (true) {
                SSLEngineResult result = engine.unwrap(inNet, inPlain);
                switch (result.getStatus()) {
                    case OK, CLOSED -> {
                        return result;
                    }
                    case BUFFER_UNDERFLOW -> {
                        if (!receive()) {
                            return null;
                        }
                    }
                    default -> throw new SSLException("no room to unwrap a record: " + result);
                }
            }
        } finally {
            inPlain.flip();
        }
    }

    /** Reads what the socket has into {@link #inNet}; false at the end of the stream. */
    private boolean receive() throws IOException {
        inNet.compact();
        try {
            if (!inNet.hasRemaining()) {
                throw new SSLException("a TLS record larger than " + inNet.capacity() + " bytes");
            }
            return socket.read(inNet) >= 0;
        } finally {
            inNet.flip();
        }
    }

    /** After the handshake: a message the peer sent may want an answer (a key update) or a task run. */
    private void answerHandshake(SSLEngineResult.HandshakeStatus status) throws IOException {
        if (status == SSLEngineResult.HandshakeStatus.NEED_TASK) {
            runTasks();
            status = engine.getHandshakeStatus();
        }
        if (status == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
            wrapAndSend(NOTHING, 0, 0);
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    private static boolean remaining(ByteBuffer[] srcs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (srcs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }
}
