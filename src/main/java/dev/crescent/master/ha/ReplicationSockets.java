package dev.crescent.master.ha;

import dev.crescent.common.TlsSockets;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * How masters reach each other's op-log replication ports: plain TCP, or mutual TLS with the node's own key and
 * trust when its control plane speaks TLS. The stream carries every change's key and ranges, and the token that
 * lets its holder collect and fence standbys, so it is protected like the master's other ports: a listener takes
 * only peers whose certificate a trusted authority signed, and a master dialling a standby checks that the
 * standby's certificate names the host it dialled.
 */
public final class ReplicationSockets {
    public static final ReplicationSockets PLAIN = new ReplicationSockets(null);

    /** This node's key and trust; null: plain TCP. */
    private final SSLContext tls;

    private ReplicationSockets(SSLContext tls) {
        this.tls = tls;
    }

    /** Over TLS with {@code tls} (this node's key and trust), or plain when it is null. */
    public static ReplicationSockets of(SSLContext tls) {
        return tls == null ? PLAIN : new ReplicationSockets(tls);
    }

    /** A listener on {@code port} (0: a free one) on every interface; over TLS it requires a client certificate. */
    ServerSocket listen(int port) throws IOException {
        ServerSocket server;
        if (tls == null) {
            server = new ServerSocket();
        } else {
            SSLServerSocket secure =
                    (SSLServerSocket) tls.getServerSocketFactory().createServerSocket();
            secure.setNeedClientAuth(true);
            server = secure;
        }
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(port));
        return server;
    }

    /**
     * A connection to a replication {@code address} ({@code host:port}), opened and (over TLS) handshaken within
     * {@code timeoutMillis}, which also bounds each read until the caller changes it.
     *
     * @param sendBufferBytes the socket's send buffer (0: the system's)
     */
    Socket connect(String address, int timeoutMillis, int sendBufferBytes) throws IOException {
        InetSocketAddress to = OpLogStream.addressOf(address);
        Socket socket = new Socket();
        try {
            if (sendBufferBytes > 0) {
                socket.setSendBufferSize(sendBufferBytes);
            }
            socket.connect(to, timeoutMillis);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(timeoutMillis);
            return tls == null ? socket : TlsSockets.connected(tls, socket, to.getHostString(), to.getPort());
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }
}
