package dev.crescent.api.wire;

import dev.crescent.protocol.MasterWire;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The master wire's direct listener: each connection it accepts is served by a thread of its own
 * ({@link DirectWireSession}), up to {@code most} at once. It speaks first, one byte:
 * {@link MasterWire#DIRECT_SERVED}, or {@link MasterWire#DIRECT_FULL} when that many are served already, after which
 * it closes the connection and the caller connects to the event loops' listener instead, which serves any number. So
 * a caller is never refused, and a flood of connections costs at most {@code most} threads.
 */
final class DirectWireListener implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(DirectWireListener.class);

    private final ServerSocketChannel server;
    private final int most;
    private final Function<SocketChannel, DirectWireSession> sessions;
    private final Set<DirectWireSession> serving = ConcurrentHashMap.newKeySet();
    private final AtomicLong named = new AtomicLong();

    private DirectWireListener(
            ServerSocketChannel server, int most, Function<SocketChannel, DirectWireSession> sessions) {
        this.server = server;
        this.most = most;
        this.sessions = sessions;
    }

    /** Listens on {@code host:port} (0: a free port) and starts accepting, on a thread of its own. */
    static DirectWireListener started(
            String host, int port, int most, Function<SocketChannel, DirectWireSession> sessions) {
        ServerSocketChannel server;
        try {
            server = ServerSocketChannel.open().bind(new InetSocketAddress(host, port));
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen for direct master wire calls on " + host + ":" + port, e);
        }
        DirectWireListener listener = new DirectWireListener(server, most, sessions);
        Thread.ofPlatform().daemon().name("crescent-wire-accept").start(listener::accept);
        return listener;
    }

    int port() {
        return server.socket().getLocalPort();
    }

    /** How many connections are served now. */
    int serving() {
        return serving.size();
    }

    private void accept() {
        while (server.isOpen()) {
            SocketChannel socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                if (server.isOpen()) {
                    LOG.warnf("the direct master wire listener stopped accepting: %s", e.toString());
                }
                return;
            }
            try {
                socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
                boolean room = serving.size() < most;
                // A fresh socket's send buffer is empty: this write never blocks.
                socket.write(ByteBuffer.wrap(new byte[] {room ? MasterWire.DIRECT_SERVED : MasterWire.DIRECT_FULL}));
                if (!room) {
                    socket.close();
                    continue;
                }
                DirectWireSession session = sessions.apply(socket);
                serving.add(session);
                try {
                    Thread.ofPlatform()
                            .daemon()
                            .name("crescent-wire-" + named.incrementAndGet())
                            .start(() -> {
                                try {
                                    session.run();
                                } finally {
                                    serving.remove(session);
                                }
                            });
                } catch (RuntimeException e) { // no thread: the slot is not taken
                    serving.remove(session);
                    session.close();
                    throw e;
                }
            } catch (IOException | RuntimeException e) {
                LOG.debugf("a direct master wire connection failed as it opened: %s", e.toString());
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    /** Stops accepting and closes every connection served. */
    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (DirectWireSession session : serving) {
            session.close();
        }
    }
}
