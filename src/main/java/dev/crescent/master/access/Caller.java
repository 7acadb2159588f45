package dev.crescent.master.access;

import java.net.InetAddress;

/**
 * Who is calling, as far as the entry point can tell.
 *
 * @param nodeName  the caller's node name: the subject CN of the client certificate its TLS connection presented
 *                  (verified against the trust store), else the name it states ({@code crescent-node} gRPC header,
 *                  {@code X-Crescent-Node} HTTP header, the wire hello), or null
 * @param address   the peer address of the connection, or null when unknown
 * @param certified whether {@code nodeName} comes from a verified certificate. A stated name is a claim: the
 *                  whitelist ignores it unless told to trust stated names
 */
public record Caller(String nodeName, InetAddress address, boolean certified) {

    /** A caller whose name, if any, is only stated. */
    public Caller(String nodeName, InetAddress address) {
        this(nodeName, address, false);
    }

    @Override
    public String toString() {
        return (nodeName == null ? "?" : certified ? "cert:" + nodeName : nodeName) + "@"
                + (address == null ? "?" : address.getHostAddress());
    }
}
