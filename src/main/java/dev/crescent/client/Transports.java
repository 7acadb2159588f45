package dev.crescent.client;

import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.Transport;
import dev.crescent.transfer.local.LocalTransport;
import dev.crescent.transfer.rdma.RdmaRuntime;
import dev.crescent.transfer.rdma.RdmaTransport;
import dev.crescent.transfer.shm.ShmTransport;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransport;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;

/** The transports an engine uses, in order of preference: same JVM, same host (shared memory), then the network. */
public final class Transports {
    private Transports() {}

    /**
     * @param local          copy in memory to segments registered in this process; false: they are reached as a
     *                       peer's would be
     * @param shmDirectories reach same-host segments through their shared-memory files in these directories (only
     *                       there); empty: no shared memory
     * @param engineName     how this engine names itself to the TCP servers it connects to
     * @param tcp            the TCP transport's settings, or null for no TCP
     * @param rdma           the opened RDMA devices, or null: RDMA goes before TCP (for memory registered with it)
     * @param tls            the context TCP reaches TLS transfer servers with, or null
     */
    public static List<Transport> preferred(
            RegisteredMemory memory,
            boolean local,
            Set<Path> shmDirectories,
            String engineName,
            TcpSettings tcp,
            RdmaRuntime rdma,
            SSLContext tls) {
        List<Transport> transports = new ArrayList<>();
        if (local) {
            transports.add(new LocalTransport(memory));
        }
        if (!shmDirectories.isEmpty()) {
            transports.add(new ShmTransport(shmDirectories));
        }
        if (rdma != null) {
            transports.add(new RdmaTransport(rdma, engineName));
        }
        if (tcp != null) {
            transports.add(new TcpTransport(engineName, tcp, tls));
        }
        return transports;
    }
}
