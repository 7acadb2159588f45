package dev.crescent.testing;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on 127.0.0.1 in front of a port, for the faults of one link only (its peers on other links are not
 * touched). It can drop every connection it carries while it keeps listening ({@link #dropConnections}): to the side
 * that connected through it, the peer behind it restarting. Or it can be cut ({@link #cut}): from then on every byte
 * either side sends is swallowed and new connections lead nowhere, while the sockets stay open, so senders see their
 * writes taken and never answered, as across a partition. Unlike freezing the peer (SIGSTOP), nothing sent after the
 * cut can reach it later: a frozen etcd still has what its kernel took in meanwhile, and applies it once it resumes.
 */
public final class TcpRelay implements AutoCloseable {
    private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final int targetPort;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();
    private volatile boolean cut;

    public TcpRelay(int targetPort) throws IOException {
        this.targetPort = targetPort;
        Thread.ofPlatform().daemon().name("relay-accept").start(this::acceptLoop);
    }

    /** A relay in front of {@code endpoint} ({@code scheme://host:port} on this machine). */
    public static TcpRelay before(String endpoint) throws IOException {
        return new TcpRelay(URI.create(endpoint).getPort());
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** {@code endpoint} with this relay's address in place of its host and port. */
    public String endpointFor(String endpoint) {
        return URI.create(endpoint).getScheme() + "://127.0.0.1:" + port();
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Closes every relayed connection, both sides. */
    public void dropConnections() {
        for (Socket socket : open) {
            closeQuietly(socket);
        }
        open.clear();
    }

    /** Swallows everything from now on, both ways, on the connections open and on any made later. */
    public void cut() {
        cut = true;
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                open.add(client);
                accepted.incrementAndGet();
                if (cut) {
                    pump(client, null);
                    continue;
                }
                Socket target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                open.add(target);
                pump(client, target);
                pump(target, client);
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Copies {@code from} to {@code to} until either ends; once cut (or with no {@code to}), reads and drops. */
    private void pump(Socket from, Socket to) {
        Thread.ofPlatform().daemon().name("relay-pump").start(() -> {
            byte[] buffer = new byte[64 << 10];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to == null ? null : to.getOutputStream();
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    if (!cut) {
                        out.write(buffer, 0, n);
                    }
                }
            } catch (IOException ignored) {
                // Dropped or closed.
            } finally {
                closeQuietly(from);
                if (to != null) {
                    closeQuietly(to);
                }
            }
        });
    }

    private static void closeQuietly(Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }

    @Override
    public void close() {
        closeQuietly(listener);
        dropConnections();
    }
}
