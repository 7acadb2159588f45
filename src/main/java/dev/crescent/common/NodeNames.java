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
     * its own. The id is what proves ownership of puts and segments to the master, so it carries 122 random bits
     * and is never used as a name others see (a segment's name, a key).
     */
    public static String newClientId(String nodeName) {
        return nodeName + "-" + UUID.randomUUID();
    }

    /** A name for memory a client contributes, unrelated to its client id (which must stay the owner's secret). */
    public static String newSegmentName(String nodeName) {
        return nodeName + "-mem-" + UUID.randomUUID().toString().substring(0, 8);
    }
}
