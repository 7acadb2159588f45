package dev.crescent.api;

import dev.crescent.master.access.Caller;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Who calls a REST resource or the master wire protocol: the connection's address and the node name the caller
 * states ({@code X-Crescent-Node}, or the wire hello). gRPC callers are read by its interceptor.
 */
public final class Callers {
    public static final String NODE_HEADER = "X-Crescent-Node";

    private Callers() {}

    public static Caller of(HttpServerRequest request) {
        return of(request.getHeader(NODE_HEADER), request.remoteAddress());
    }

    /** A caller stating {@code nodeName} (null or empty: none) from the connection at {@code remote}. */
    public static Caller of(String nodeName, SocketAddress remote) {
        return new Caller(
                nodeName == null || nodeName.isEmpty() ? null : nodeName,
                remote == null ? null : address(remote.hostAddress()));
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
