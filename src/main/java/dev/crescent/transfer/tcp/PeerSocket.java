package dev.crescent.transfer.tcp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/** Opens client connections to a peer's transfer server. */
final class PeerSocket {
    private static final int SOCKET_BUFFER_BYTES = 4 << 20;

    private PeerSocket() {}

    /**
     * A blocking connection, connected and past the handshakes (TLS's first, when {@code tls} is set; then the
     * protocol's) within {@code timeout}; IOException on any failure.
     */
    static TransferChannel open(
            InetSocketAddress address,
            String engineName,
            Duration timeout,
            ScheduledExecutorService timer,
            SSLContext tls)
            throws IOException {
        SocketChannel socket = SocketChannel.open();
        ScheduledFuture<?> guard = timer.schedule(() -> close(socket), timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
            socket.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
            socket.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
            socket.connect(address);
            TransferChannel channel =
                    tls == null ? TransferChannel.plain(socket) : TlsChannel.client(socket, tls, address);
            TcpProtocol.clientHandshake(channel, engineName, address);
            return channel;
        } catch (IOException | RuntimeException e) {
            close(socket);
            throw e instanceof IOException io ? io : new IOException(e);
        } finally {
            guard.cancel(false);
        }
    }

    private static void close(SocketChannel socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }
}
