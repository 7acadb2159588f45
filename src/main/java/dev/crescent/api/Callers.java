package dev.crescent.api;

import dev.crescent.master.access.Caller;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;

import java.net.InetAddress;
import java.net.UnknownHostException;
import javax.net.ssl.SSLSession;

/**
 * Who calls, for every entry point (REST, gRPC, the master wire protocol): the connection's address and the node
 * name, proven by the TLS client certificate when the connection presented one, else as the caller states it
 * ({@code X-Crescent-Node}, {@code crescent-node}, the wire hello).
 */
public final class Callers {
    public static final String NODE_HEADER = "X-Crescent-Node";

    private Callers() {}

    public static Caller of(HttpServerRequest request) {
        return of(
                request.getHeader(NODE_HEADER), request.isSSL() ? request.sslSession() : null, request.remoteAddress());
    }

    /** A caller on a Vert.x connection at {@code remote}; {@code tls} is its TLS session, null for plain TCP. */
    public static Caller of(String statedName, SSLSession tls, SocketAddress remote) {
        return of(statedName, tls, remote == null ? null : address(remote.hostAddress()));
    }

    /**
     * @param statedName the name the caller states (null or empty: none); a certificate's name takes its place
     * @param tls        the connection's TLS session, or null
     */
    public static Caller of(String statedName, SSLSession tls, InetAddress address) {
        String proven = PeerCertificates.subjectName(tls);
        if (proven != null) {
            return new Caller(proven, address, true);
        }
        return new Caller(statedName == null || statedName.isEmpty() ? null : statedName, address, false);
    }

    private static InetAddress address(String literal) {
        if (literal == null) {
            return null;
        }
        try {
            // A literal address: no name lookup happens.
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
