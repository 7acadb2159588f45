package dev.crescent.worker;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.NodeNames;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.rdma.RdmaAcceptor;
import dev.crescent.transfer.rdma.RdmaRuntime;
import dev.crescent.transfer.tcp.TcpTransferServer;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A segment's TCP transfer server (and RDMA acceptor, where RDMA runs): started before the segment is mounted,
 * closed (drained) after unmount. With tickets it serves only requests that carry a master-signed ticket for their
 * range.
 */
public final class WorkerTransferServer {
    private static final Logger LOG = Logger.getLogger(WorkerTransferServer.class);

    private final TransferServerSettings settings;
    private final TicketSigner tickets;
    private final RdmaRuntime rdma;
    private TcpTransferServer server;
    private RdmaAcceptor rdmaAcceptor;

    /**
     * @param tickets verifies transfer tickets; null when access control is off
     * @param rdma    the RDMA runtime, or null when this process runs without RDMA
     */
    public WorkerTransferServer(TransferServerSettings settings, TicketSigner tickets, RdmaRuntime rdma) {
        this.settings = settings;
        this.tickets = tickets;
        this.rdma = rdma;
    }

    /**
     * Serves {@code memory} over RDMA too, when RDMA runs here (the handshake goes over this TCP server).
     * @return the RDMA devices for the segment's endpoint ('+'-separated), or "" without RDMA
     */
    String serveRdma(String segment, MemorySegment memory) {
        if (rdma == null || server == null) {
            return "";
        }
        rdmaAcceptor = new RdmaAcceptor(rdma, tickets != null);
        rdmaAcceptor.serve(segment, memory);
        server.serveRdma(rdmaAcceptor);
        return String.join("+", rdma.deviceNames());
    }

    /** Whether it serves only transfers that carry a valid ticket for their range. */
    boolean ticketed() {
        return tickets != null;
    }

    /** Whether it speaks TLS only. */
    boolean tls() {
        return settings.tls() != null;
    }

    /** Starts serving {@code memory}; @return host:port other nodes reach it at, or "" when TCP is disabled. */
    String start(RegisteredMemory memory) {
        if (!settings.enabled()) {
            return "";
        }
        try {
            server = new TcpTransferServer(
                    memory,
                    new InetSocketAddress(settings.bindHost(), settings.port()),
                    settings.limits(),
                    tickets,
                    settings.tls());
        } catch (IOException e) {
            throw new StoreException(
                    ErrorCode.INTERNAL_ERROR,
                    "cannot start the transfer server on " + settings.bindHost() + ":" + settings.port() + ": "
                            + e.getMessage(),
                    e);
        }
        String host = settings.advertiseHost() == null ? NodeNames.hostAddress() : settings.advertiseHost();
        String endpoint = host + ":" + server.port();
        LOG.infof(
                "transfer server listening on %s:%d (advertised as %s)%s",
                settings.bindHost(),
                server.port(),
                endpoint,
                (tickets == null ? "" : ", serving only transfers with a valid ticket")
                        + (settings.tls() == null ? "" : ", over TLS only"));
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
