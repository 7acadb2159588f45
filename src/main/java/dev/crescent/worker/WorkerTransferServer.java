package dev.crescent.worker;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.config.CrescentConfig;
import dev.crescent.config.NodeIdentity;
import dev.crescent.config.RdmaStartup;
import dev.crescent.master.access.AccessControl;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.rdma.RdmaAcceptor;
import dev.crescent.transfer.tcp.TcpTransferServer;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The worker's TCP transfer server: started before the segment is mounted, closed (drained) after unmount. With
 * access control on it serves only requests that carry a master-signed ticket for their range.
 */
@Singleton
public class WorkerTransferServer {
    private static final Logger LOG = Logger.getLogger(WorkerTransferServer.class);

    private final CrescentConfig.TransferConfig.TcpConfig config;
    private final AccessControl access;
    private final RdmaStartup rdma;
    private TcpTransferServer server;
    private RdmaAcceptor rdmaAcceptor;

    public WorkerTransferServer(CrescentConfig config, AccessControl access, RdmaStartup rdma) {
        this.config = config.transfer().tcp();
        this.access = access;
        this.rdma = rdma;
    }

    /**
     * Serves {@code memory} over RDMA too, when RDMA runs here (the handshake goes over this TCP server).
     * @return the RDMA devices for the segment's endpoint ('+'-separated), or "" without RDMA
     */
    String serveRdma(String segment, MemorySegment memory) {
        if (rdma.runtime() == null || server == null) {
            return "";
        }
        rdmaAcceptor = new RdmaAcceptor(rdma.runtime(), access.tickets() != null);
        rdmaAcceptor.serve(segment, memory);
        server.serveRdma(rdmaAcceptor);
        return String.join("+", rdma.runtime().deviceNames());
    }

    /** Starts serving {@code memory}; @return host:port other nodes reach it at, or "" when TCP is disabled. */
    String start(RegisteredMemory memory) {
        if (!config.enabled()) {
            return "";
        }
        try {
            server = new TcpTransferServer(memory, new InetSocketAddress(config.bindHost(), config.port()),
                    config.handshakeTimeout(), config.frameTimeout(), access.tickets());
        } catch (IOException e) {
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "cannot start the transfer server on "
                    + config.bindHost() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        String endpoint = config.advertiseHost().orElseGet(NodeIdentity::hostAddress) + ":" + server.port();
        LOG.infof("transfer server listening on %s:%d (advertised as %s)%s", config.bindHost(), server.port(), endpoint,
                access.tickets() == null ? "" : ", serving only transfers with a valid ticket");
        return endpoint;
    }

    void stop(Duration drainTimeout) {
        if (server != null) {
            server.close(drainTimeout);
        }
        if (rdmaAcceptor != null) {
            rdmaAcceptor.close();
        }
    }

}
