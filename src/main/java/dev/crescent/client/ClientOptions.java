package dev.crescent.client;

import dev.crescent.common.NodeNames;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.transfer.rdma.RdmaSettings;
import dev.crescent.transfer.tcp.TcpSettings;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;

/**
 * How a {@link CrescentClient} reaches the cluster. Start from {@link #master(String)} or {@link #etcd(List, String)}
 * and adjust with the {@code with...} methods.
 *
 * @param masterAddress  host:port of the master (its HTTP port, which also serves gRPC); ignored with etcd
 * @param etcdEndpoints  etcd endpoints where the masters elect a leader; the client follows it
 * @param cluster        cluster name (metadata lives under /crescent/&lt;cluster&gt;/)
 * @param nodeName       this node's name, matched by the access whitelist
 * @param callTimeout    the longest one attempt of a master call may take
 * @param failoverWindow how long master calls keep retrying while no master leads or answers
 * @param replicas       replica config of puts that do not name one
 * @param sharedMemory   read and write same-host workers through their shared-memory files
 * @param tcp            the TCP transport's settings
 * @param contribute     memory of this process to add to the pool as a segment, served to other nodes like a
 *                       worker's (shared-memory file on the same host, TCP otherwise)
 * @param checksums      record a CRC32C with every put and verify it on every read of an object that has one
 * @param rdma           RDMA settings (null: no RDMA); buffers from {@link CrescentClient#allocate} are then
 *                       registered with the devices and move by one-sided RDMA to workers that serve it
 * @param tls            TLS for master calls, with this node's certificate (null: plaintext); see {@link ClientTls}
 * @param inlineBytes    the largest object whose bytes travel with its master call, so that a small put or get is
 *                       one round trip where the master can move the bytes itself (0: never)
 * @param cachedLocations how long a location read from a same-host segment this client maps is reused without
 *                       asking the master, while the object's version word says it is current (zero: never)
 */
public record ClientOptions(
        String masterAddress,
        List<String> etcdEndpoints,
        String cluster,
        String nodeName,
        Duration callTimeout,
        Duration failoverWindow,
        ReplicaConfig replicas,
        boolean sharedMemory,
        TcpSettings tcp,
        ContributedMemory contribute,
        boolean checksums,
        RdmaSettings rdma,
        SSLContext tls,
        long inlineBytes,
        Duration cachedLocations) {

    public ClientOptions {
        etcdEndpoints = List.copyOf(etcdEndpoints);
    }

    public static ClientOptions master(String address) {
        return new ClientOptions(
                address,
                List.of(),
                "default",
                NodeNames.hostName(),
                Duration.ofSeconds(5),
                Duration.ofSeconds(15),
                ReplicaConfig.DEFAULT,
                true,
                TcpSettings.defaults(),
                ContributedMemory.NONE,
                false,
                null,
                null,
                StoreClient.DEFAULT_INLINE_BYTES,
                StoreClient.DEFAULT_CACHED_LOCATIONS);
    }

    public static ClientOptions etcd(List<String> endpoints, String cluster) {
        return master("").withEtcd(endpoints, cluster);
    }

    public ClientOptions withEtcd(List<String> endpoints, String clusterName) {
        return with(copy -> {
            copy.etcdEndpoints = endpoints;
            copy.cluster = clusterName;
        });
    }

    public ClientOptions withNodeName(String name) {
        return with(copy -> copy.nodeName = name);
    }

    public ClientOptions withTimeouts(Duration call, Duration failover) {
        return with(copy -> {
            copy.callTimeout = call;
            copy.failoverWindow = failover;
        });
    }

    public ClientOptions withReplicas(ReplicaConfig config) {
        return with(copy -> copy.replicas = config);
    }

    /** Off: same-host workers are reached over TCP too (e.g. to measure the network path). */
    public ClientOptions withSharedMemory(boolean enabled) {
        return with(copy -> copy.sharedMemory = enabled);
    }

    /**
     * Memory a client contributes to the pool.
     *
     * @param bytes        its size (0: none)
     * @param ticketSecret the secret the cluster's masters sign transfer tickets with (crescent.access.ticket-secret);
     *                     with it the memory is served only to transfers that carry a valid ticket. A cluster with
     *                     access control refuses memory served without it.
     */
    public record ContributedMemory(long bytes, byte[] ticketSecret) {
        public static final ContributedMemory NONE = new ContributedMemory(0, null);
    }

    /** Contributes {@code bytes} of this process's memory to the pool while the client is open. */
    public ClientOptions withContributedMemory(long bytes) {
        return withContributedMemory(new ContributedMemory(bytes, null));
    }

    /** Contributes memory to the pool while the client is open (see {@link ContributedMemory}). */
    public ClientOptions withContributedMemory(ContributedMemory memory) {
        return with(copy -> copy.contribute = memory);
    }

    public ClientOptions withChecksums(boolean enabled) {
        return with(copy -> copy.checksums = enabled);
    }

    /** Uses RDMA where it runs (see {@link RdmaSettings}; unavailable RDMA falls back to TCP when it allows). */
    public ClientOptions withRdma(RdmaSettings settings) {
        return with(copy -> copy.rdma = settings);
    }

    public ClientOptions withTcp(TcpSettings settings) {
        return with(copy -> copy.tcp = settings);
    }

    /**
     * Calls the master over TLS, presenting this context's certificate: with mutual TLS on the master, its subject
     * CN is this node's name for the access rules (the stated node name no longer counts). See {@link ClientTls}.
     */
    public ClientOptions withTls(SSLContext context) {
        return with(copy -> copy.tls = context);
    }

    /** Objects up to {@code maxBytes} travel with their master call (0: bytes always go to workers directly). */
    public ClientOptions withInlineValues(long maxBytes) {
        return with(copy -> copy.inlineBytes = maxBytes);
    }

    /**
     * Locations read from same-host segments are reused for up to {@code ttl} without asking the master, while each
     * object's version word says it is current ({@link Duration#ZERO}: every get asks the master).
     */
    public ClientOptions withCachedLocations(Duration ttl) {
        return with(copy -> copy.cachedLocations = ttl);
    }

    /**
     * The options being changed by a {@code with...} method: every field of this one, then the method's changes.
     * One copy for all of them, so that a new option is added in three places, not in every method.
     */
    private ClientOptions with(Consumer<Copy> change) {
        Copy copy = new Copy(this);
        change.accept(copy);
        return copy.build();
    }

    private static final class Copy {
        String masterAddress;
        List<String> etcdEndpoints;
        String cluster;
        String nodeName;
        Duration callTimeout;
        Duration failoverWindow;
        ReplicaConfig replicas;
        boolean sharedMemory;
        TcpSettings tcp;
        ContributedMemory contribute;
        boolean checksums;
        RdmaSettings rdma;
        SSLContext tls;
        long inlineBytes;
        Duration cachedLocations;

        Copy(ClientOptions from) {
            masterAddress = from.masterAddress;
            etcdEndpoints = from.etcdEndpoints;
            cluster = from.cluster;
            nodeName = from.nodeName;
            callTimeout = from.callTimeout;
            failoverWindow = from.failoverWindow;
            replicas = from.replicas;
            sharedMemory = from.sharedMemory;
            tcp = from.tcp;
            contribute = from.contribute;
            checksums = from.checksums;
            rdma = from.rdma;
            tls = from.tls;
            inlineBytes = from.inlineBytes;
            cachedLocations = from.cachedLocations;
        }

        ClientOptions build() {
            return new ClientOptions(
                    masterAddress,
                    etcdEndpoints,
                    cluster,
                    nodeName,
                    callTimeout,
                    failoverWindow,
                    replicas,
                    sharedMemory,
                    tcp,
                    contribute,
                    checksums,
                    rdma,
                    tls,
                    inlineBytes,
                    cachedLocations);
        }
    }
}
