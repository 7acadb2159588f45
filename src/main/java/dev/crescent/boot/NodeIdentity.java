package dev.crescent.boot;

import dev.crescent.common.NodeNames;
import dev.crescent.config.CrescentConfig;
import jakarta.inject.Singleton;

/** Who this process is: its node name (config or host name) and a client id unique to this run. */
@Singleton
public class NodeIdentity {
    private final String nodeName;
    private final String clientId;

    public NodeIdentity(CrescentConfig config) {
        this.nodeName = config.nodeName().orElseGet(NodeNames::hostName);
        this.clientId = NodeNames.newClientId(nodeName);
    }

    public String nodeName() {
        return nodeName;
    }

    /** Identifies this process to the master; a restart is a new client, so its old puts are not its own. */
    public String clientId() {
        return clientId;
    }
}
