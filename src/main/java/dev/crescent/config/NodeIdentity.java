package dev.crescent.config;

import jakarta.inject.Singleton;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.UUID;

/** Who this process is: its node name (config or host name) and a client id unique to this run. */
@Singleton
public class NodeIdentity {
    private final String nodeName;
    private final String clientId;

    public NodeIdentity(CrescentConfig config) {
        this.nodeName = config.nodeName().orElseGet(NodeIdentity::hostName);
        this.clientId = newClientId(nodeName);
    }

    public String nodeName() {
        return nodeName;
    }

    /** Identifies this process to the master; a restart is a new client, so its old puts are not its own. */
    public String clientId() {
        return clientId;
    }

    /** This host's address as others reach it (loopback when it has no resolvable name). */
    public static String hostAddress() {
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException e) {
            return "127.0.0.1";
        }
    }

    /** A client id for one run of a process on {@code nodeName}. */
    public static String newClientId(String nodeName) {
        return nodeName + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    public static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
