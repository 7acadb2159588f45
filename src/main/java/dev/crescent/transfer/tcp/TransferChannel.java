package dev.crescent.transfer.tcp;

import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.ByteChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.SocketChannel;

/**
 * One transfer connection as the protocol code sees it: bytes in, gathered bytes out, and how many have arrived
 * unread. Plain TCP ({@link #plain}) or TLS ({@link TlsChannel}); closing it from another thread (a watchdog, a
 * timeout) makes a blocked read or write fail, as closing the socket does.
 */
interface TransferChannel extends ByteChannel, GatheringByteChannel {

    /** Bytes that a read would return without blocking (at least: 0 means nothing is known to be there). */
    int available() throws IOException;

    /** The socket under it (what closing closes). */
    SocketChannel socket();

    default SocketAddress getRemoteAddress() throws IOException {
        return socket().getRemoteAddress();
    }

    @Override
    default boolean isOpen() {
        return socket().isOpen();
    }

    /** Closes the socket at once: a blocked read or write fails (TLS sends no close_notify; frames carry lengths). */
    @Override
    default void close() throws IOException {
        socket().close();
    }

    /** The socket itself, with no layer in between. */
    static TransferChannel plain(SocketChannel socket) {
        return new PlainChannel(socket);
    }

    /** Closes without throwing: the connection is being given up anyway. */
    default void closeQuietly() {
        try {
            close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
