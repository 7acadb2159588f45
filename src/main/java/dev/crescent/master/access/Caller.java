package dev.crescent.master.access;

import java.net.InetAddress;

/**
 * Who is calling, as far as the entry point can tell.
 *
 * @param nodeName the node name the caller states ({@code crescent-node} gRPC header, {@code X-Crescent-Node} HTTP
 *                 header), or null. It is a claim, not a proof: rules that matter should also name a CIDR
 * @param address  the peer address of the connection, or null when unknown
 */
public record Caller(String nodeName, InetAddress address) {

    @Override
    public String toString() {
        return (nodeName == null ? "?" : nodeName) + "@" + (address == null ? "?" : address.getHostAddress());
    }
}
