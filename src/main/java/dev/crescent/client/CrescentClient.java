package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.NodeNames;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.etcd.EtcdMetadataStore;
import dev.crescent.protocol.KeyResult;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.rdma.MemoryRegions;
import dev.crescent.transfer.rdma.RdmaRuntime;
import dev.crescent.transfer.shm.ShmFiles;
import dev.crescent.transfer.topology.TopologyDiscovery;
import dev.crescent.worker.SegmentHost;
import dev.crescent.worker.SegmentSettings;
import dev.crescent.worker.TransferServerSettings;
import dev.crescent.worker.WorkerTransferServer;
import org.jboss.logging.Logger;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The Java client of a Crescent cluster, usable from any JVM (no Quarkus needed): the master is called over gRPC
 * (following the leader through a failover), and object bytes move straight between the caller's buffers and the
 * workers' segments, through shared memory on the same host and TCP otherwise.
 *
 * <p>Thread-safe; one instance per process is enough. Failures are {@link dev.crescent.common.StoreException}s
 * whose {@code code()} is the cluster's error code: OBJECT_NOT_FOUND (-704), OBJECT_ALREADY_EXISTS (-705),
 * NO_AVAILABLE_HANDLE (-200) meaning the pool is full right now (back-pressure: retry later or evict), and so on.
 * Batch forms answer one {@link KeyResult} per key instead of throwing.
 *
 * <p>With {@link ClientOptions#withContributedMemory} the client also adds memory of its own to the pool, as a
 * worker does, until it closes.
 *
 * <p>{@code putFrom}/{@code getInto} take {@link MemorySegment}s and copy nothing on the client: use off-heap
 * buffers from {@link #allocate(long)} (or any segment) for zero-copy transfers.
 */
public final class CrescentClient implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CrescentClient.class);
    private final ClientOptions options;
    private final MetadataStore metadata;
    private final RemoteMasterClient master;
    private final TransferEngine engine;
    private final StoreClient store;
    private final ExecutorService async = Executors.newVirtualThreadPerTaskExecutor();
    private final Arena buffers = Arena.ofShared();
    private final SegmentHost contributed;
    private final RdmaRuntime rdma;

    private CrescentClient(
            ClientOptions options,
            MetadataStore metadata,
            RemoteMasterClient master,
            TransferEngine engine,
            RdmaRuntime rdma) {
        this.options = options;
        this.rdma = rdma;
        this.metadata = metadata;
        this.master = master;
        this.engine = engine;
        String clientId = NodeNames.newClientId(options.nodeName());
        this.store = new StoreClient(
                master,
                engine,
                clientId,
                InstantSource.system(),
                options.checksums(),
                options.inlineBytes(),
                options.cachedLocations());
        SegmentHost host;
        try {
            host = options.contribute().bytes() <= 0 ? null : contribute(clientId, options.contribute());
        } catch (RuntimeException e) {
            async.close();
            closeTransfersAndMaster(); // connect fails as a whole: nothing of this client stays open
            throw e;
        }
        this.contributed = host;
    }

    public static CrescentClient connect(String masterAddress) {
        return connect(ClientOptions.master(masterAddress));
    }

    public static CrescentClient connect(ClientOptions options) {
        MetadataStore metadata = options.etcdEndpoints().isEmpty()
                ? null
                : new EtcdMetadataStore(options.etcdEndpoints(), options.callTimeout());
        Supplier<String> leader = metadata == null
                ? options::masterAddress
                : LeaderLookup.in(metadata, new MetadataKeys(options.cluster()));
        RemoteMasterClient master = new RemoteMasterClient(
                leader,
                options.nodeName(),
                options.callTimeout(),
                options.failoverWindow(),
                true,
                options.tls(),
                options.sharedMemory());
        RegisteredMemory memory = new RegisteredMemory();
        RdmaRuntime rdma = options.rdma() == null
                ? null
                : RdmaRuntime.openOrFallBack(
                        options.rdma(), new TopologyDiscovery(Path.of("/sys")).discover(Set.of(), Set.of()), LOG::warn);
        return new CrescentClient(
                options,
                metadata,
                master,
                new TransferEngine(
                        memory,
                        Transports.preferred(
                                memory,
                                true,
                                options.sharedMemory() ? ShmFiles.DEFAULT_DIRECTORIES : Set.of(),
                                options.nodeName(),
                                options.tcp(),
                                rdma,
                                options.tls()),
                        TransferObserver.NONE),
                rdma);
    }

    /** Memory this client adds to the pool, in the pool before connect returns (when the master answers). */
    private SegmentHost contribute(String clientId, ClientOptions.ContributedMemory memory) {
        TicketSigner tickets = memory.ticketSecret() == null ? null : new TicketSigner(memory.ticketSecret());
        SegmentHost host = new SegmentHost(
                SegmentSettings.defaults(NodeNames.newSegmentName(options.nodeName()), memory.bytes()),
                master,
                clientId,
                engine,
                new WorkerTransferServer(TransferServerSettings.defaults(), tickets, null),
                null);
        if (!host.mountNow() && host.refusal() != null && host.refusal().code() == ErrorCode.PERMISSION_DENIED) {
            StoreException refused = host.refusal();
            host.close();
            throw refused; // retrying cannot help: the cluster does not take this memory as it is served
        }
        return host;
    }

    /** The name of the segment this client contributes to the pool, if any. */
    public Optional<String> contributedSegment() {
        return Optional.ofNullable(contributed).map(SegmentHost::name);
    }

    /**
     * An off-heap buffer that lives until the client closes; transfers to and from it copy nothing here. With RDMA
     * it is registered with the devices, so it moves by one-sided RDMA (page-aligned, as registration needs).
     */
    public MemorySegment allocate(long bytes) {
        if (rdma == null) {
            return buffers.allocate(bytes, 64);
        }
        MemorySegment buffer = buffers.allocate(bytes, MemoryRegions.PAGE);
        rdma.register(buffer);
        return buffer;
    }

    // --- single objects ---------------------------------------------------------------------------------------

    public void put(String key, byte[] value) {
        putFrom(key, MemorySegment.ofArray(value));
    }

    public void putFrom(String key, MemorySegment value) {
        store.put(key, value, options.replicas(), false);
    }

    public void putFrom(String key, MemorySegment value, ReplicaConfig replicas) {
        store.put(key, value, replicas, false);
    }

    /** One object assembled from several buffers, back to back (e.g. a KV block's K and V). */
    public void putParts(String key, List<MemorySegment> parts) {
        store.put(key, parts, options.replicas(), false);
    }

    /** Writes the object whether or not it exists (a reader never sees a mix of old and new bytes). */
    public void upsert(String key, byte[] value) {
        upsertFrom(key, MemorySegment.ofArray(value));
    }

    public void upsertFrom(String key, MemorySegment value) {
        store.put(key, value, options.replicas(), true);
    }

    public byte[] get(String key) {
        return store.get(key);
    }

    /** Reads the object into {@code target}; @return its size */
    public long getInto(String key, MemorySegment target) {
        return store.getInto(key, target);
    }

    /** The object's size. */
    public long size(String key) {
        return store.size(key);
    }

    public boolean exists(String key) {
        return store.exists(key);
    }

    /** Removes the object unless a reader holds a lease on it (OBJECT_HAS_LEASE). */
    public void remove(String key) {
        remove(key, false);
    }

    /**
     * @param force remove even while read leases last (a reader's lease is a few seconds after each read); its
     *              memory is reused only once they have ended
     */
    public void remove(String key, boolean force) {
        store.remove(key, force);
    }

    /** Removes every object (with {@code force}, leased ones too); @return how many */
    public long removeAll(boolean force) {
        return store.removeAll(force);
    }

    // --- batches ----------------------------------------------------------------------------------------------

    public List<KeyResult<Boolean>> batchExists(List<String> keys) {
        return store.batchExists(keys);
    }

    public List<KeyResult<Void>> batchPutFrom(List<String> keys, List<MemorySegment> values) {
        return store.batchPut(keys, values.stream().map(List::of).toList(), options.replicas(), false);
    }

    /** {@link #batchPutFrom} writing each object whether or not it exists, as {@link #upsertFrom}. */
    public List<KeyResult<Void>> batchUpsertFrom(List<String> keys, List<MemorySegment> values) {
        return store.batchPut(keys, values.stream().map(List::of).toList(), options.replicas(), true);
    }

    /** Each object assembled from its own list of buffers. */
    public List<KeyResult<Void>> batchPutParts(List<String> keys, List<List<MemorySegment>> values) {
        return store.batchPut(keys, values, options.replicas(), false);
    }

    /** @return each object's size, or its error */
    public List<KeyResult<Long>> batchGetInto(List<String> keys, List<MemorySegment> targets) {
        return store.batchGetInto(keys, targets);
    }

    public List<KeyResult<Void>> batchRemove(List<String> keys, boolean force) {
        return store.batchRemove(keys, force);
    }

    // --- async: the same calls on a virtual thread ------------------------------------------------------------

    public CompletableFuture<Void> putFromAsync(String key, MemorySegment value) {
        return CompletableFuture.runAsync(() -> putFrom(key, value), async);
    }

    public CompletableFuture<byte[]> getAsync(String key) {
        return CompletableFuture.supplyAsync(() -> get(key), async);
    }

    public CompletableFuture<Long> getIntoAsync(String key, MemorySegment target) {
        return CompletableFuture.supplyAsync(() -> getInto(key, target), async);
    }

    public CompletableFuture<List<KeyResult<Void>>> batchPutFromAsync(List<String> keys, List<MemorySegment> values) {
        return CompletableFuture.supplyAsync(() -> batchPutFrom(keys, values), async);
    }

    public CompletableFuture<List<KeyResult<Long>>> batchGetIntoAsync(List<String> keys, List<MemorySegment> targets) {
        return CompletableFuture.supplyAsync(() -> batchGetInto(keys, targets), async);
    }

    /** Waits for async calls in flight, then closes connections and frees {@link #allocate} buffers. */
    @Override
    public void close() {
        async.close();
        store.releaseSpaces();
        if (contributed != null) {
            contributed.close(); // leaves the pool before the engine that serves it closes
        }
        closeTransfersAndMaster();
    }

    private void closeTransfersAndMaster() {
        engine.close();
        if (rdma != null) {
            rdma.close();
        }
        master.close();
        if (metadata != null) {
            metadata.close();
        }
        buffers.close();
    }
}
