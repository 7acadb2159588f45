package dev.crescent.common;

import java.io.IOException;
import java.net.Socket;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** TLS over a blocking socket this node opened: the one place a peer's certificate is held to the name dialled. */
public final class TlsSockets {
    private TlsSockets() {}

    /**
     * {@code plain}, connected to {@code host:port}, wrapped and handshaken (within its read timeout); the peer's
     * certificate must name {@code host}. Closing the result closes {@code plain}.
     */
    public static SSLSocket connected(SSLContext tls, Socket plain, String host, int port) throws IOException {
        SSLSocket secure = (SSLSocket) tls.getSocketFactory().createSocket(plain, host, port, true);
        SSLParameters parameters = secure.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        secure.setSSLParameters(parameters);
        secure.startHandshake();
        return secure;
    }
}
