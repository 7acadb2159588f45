package dev.crescent.transfer.tcp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** Opens client connections to a peer's transfer server. */
final class PeerSocket {
    private static final int SOCKET_BUFFER_BYTES = 4 << 20;

    private PeerSocket() {}

    /** A blocking channel, connected and past the handshake within {@code timeout}; IOException on any failure. */
    static SocketChannel open(
            InetSocketAddress address, String engineName, Duration timeout, ScheduledExecutorService timer)
            throws IOException {
        SocketChannel channel = SocketChannel.open();
        ScheduledFuture<?> guard =
                timer.schedule(() -> closeQuietly(channel), timeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
            channel.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
            channel.connect(address);
            TcpProtocol.clientHandshake(channel, engineName, address);
            return channel;
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            throw e instanceof IOException io ? io : new IOException(e);
        } finally {
            guard.cancel(false);
        }
    }

    static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }
}
