package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.tcp.TcpTransferServer;

import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The serving side of RDMA: a worker's segments, registered with its devices, offered to peers that connect
 * through the worker's TCP transfer server. Each handshake gets a queue pair of its own on one of this side's
 * devices (rails pair up round-robin), and learns the segment's base address and the remote keys of its regions.
 * Accepted queue pairs are kept in an endpoint cache, so a worker with many peers holds a bounded number.
 */
public final class RdmaAcceptor implements TcpTransferServer.RdmaConnectHandler, AutoCloseable {
    private final RdmaRuntime runtime;
    private final boolean refuse;
    private final ConcurrentHashMap<String, LocalRegistration> segments = new ConcurrentHashMap<>();
    private final EndpointCache<String, RdmaEndpoint> accepted;
    private final AtomicInteger nextRail = new AtomicInteger();

    /** @param accessControlOn with access control on, RDMA is refused unless the settings allow it */
    public RdmaAcceptor(RdmaRuntime runtime, boolean accessControlOn) {
        this.runtime = runtime;
        this.refuse = accessControlOn && !runtime.settings.serveWithAccessControl();
        this.accepted = new EndpointCache<>(runtime.settings.endpointCacheSize());
    }

    /** Registers a segment's memory with every device and serves it. */
    public void serve(String segment, MemorySegment memory) {
        segments.put(segment, runtime.register(memory));
    }

    public void stopServing(String segment) {
        LocalRegistration gone = segments.remove(segment);
        if (gone != null) {
            gone.close();
        }
    }

    @Override
    public byte[] connect(String segment, byte[] peerHandshake) {
        if (refuse) {
            throw new StoreException(
                    ErrorCode.PERMISSION_DENIED,
                    "RDMA is not served with access control on: remote keys would bypass transfer tickets "
                            + "(set crescent.transfer.rdma.serve-with-access-control)");
        }
        LocalRegistration registration = segments.get(segment);
        if (registration == null) {
            throw new StoreException(
                    ErrorCode.SEGMENT_NOT_FOUND, "segment " + segment + " is not served over RDMA here");
        }
        RdmaHandshake peer = RdmaHandshake.decode(peerHandshake);
        List<String> rails = runtime.deviceNames();
        RdmaDevice device = runtime.devices.get(rails.get(Math.floorMod(nextRail.getAndIncrement(), rails.size())));
        RdmaEndpoint endpoint = RdmaEndpoint.accept(device, runtime.settings, peer);
        accepted.get(
                peer.device() + "/" + peer.qpNumber() + "/" + peer.lid() + "/"
                        + HexFormat.of().formatHex(peer.gid()),
                key -> endpoint);
        return endpoint.localHandshake(registration.baseAddress(), registration.remoteRegions(device.name))
                .encode();
    }

    @Override
    public void close() {
        accepted.close();
        segments.keySet().forEach(this::stopServing);
    }
}
