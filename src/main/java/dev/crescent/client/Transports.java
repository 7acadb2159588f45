package dev.crescent.client;

import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.Transport;
import dev.crescent.transfer.local.LocalTransport;
import dev.crescent.transfer.rdma.RdmaRuntime;
import dev.crescent.transfer.rdma.RdmaTransport;
import dev.crescent.transfer.shm.ShmTransport;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransport;

import java.util.ArrayList;
import java.util.List;

/** The transports an engine uses, in order of preference: same JVM, same host (shared memory), then the network. */
public final class Transports {
    private Transports() {}

    /**
     * @param sharedMemory reach same-host segments through their shared-memory files
     * @param engineName   how this engine names itself to the TCP servers it connects to
     * @param tcp          the TCP transport's settings, or null for no TCP
     */
    public static List<Transport> preferred(
            RegisteredMemory memory, boolean sharedMemory, String engineName, TcpSettings tcp) {
        return preferred(memory, sharedMemory, engineName, tcp, null);
    }

    /** @param rdma the opened RDMA devices, or null: RDMA goes before TCP (for memory registered with it) */
    public static List<Transport> preferred(
            RegisteredMemory memory, boolean sharedMemory, String engineName, TcpSettings tcp, RdmaRuntime rdma) {
        List<Transport> transports = new ArrayList<>();
        transports.add(new LocalTransport(memory));
        if (sharedMemory) {
            transports.add(new ShmTransport());
        }
        if (rdma != null) {
            transports.add(new RdmaTransport(rdma, engineName));
        }
        if (tcp != null) {
            transports.add(new TcpTransport(engineName, tcp));
        }
        return transports;
    }
}
