package dev.crescent.transfer.tcp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/** A transfer connection straight on a blocking socket channel. */
final class PlainChannel implements TransferChannel {
    private final SocketChannel socket;
    /** Only for available(): what the peer has sent and nobody read yet, without reading it. */
    private final InputStream arrived;

    PlainChannel(SocketChannel socket) {
        this.socket = socket;
        try {
            this.arrived = socket.socket().getInputStream();
        } catch (IOException e) {
            throw new IllegalStateException("a connected socket channel has an input stream", e);
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return socket.read(dst);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return socket.write(src);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return socket.write(srcs, offset, length);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return socket.write(srcs);
    }

    @Override
    public int available() throws IOException {
        return arrived.available();
    }

    @Override
    public SocketChannel socket() {
        return socket;
    }
}
