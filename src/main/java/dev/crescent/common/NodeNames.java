package dev.crescent.common;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.UUID;

/** How a process names itself and its host to others, for servers and plain clients alike (no framework needed). */
public final class NodeNames {
    private NodeNames() {}

    /** This host's address as others reach it (loopback when it has no resolvable name). */
    public static String hostAddress() {
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException e) {
            return "127.0.0.1";
        }
    }

    /** This host's name, the default node name. */
    public static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    /**
     * A client id for one run of a process on {@code nodeName}; a restart is a new client, so its old puts are not
     * its own.
     */
    public static String newClientId(String nodeName) {
        return nodeName + "-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
