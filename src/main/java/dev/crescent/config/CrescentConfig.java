package dev.crescent.config;

import dev.crescent.common.Right;
import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Every {@code crescent.*} key. Each default works on one box, so no config file is needed. */
@ConfigMapping(prefix = "crescent")
public interface CrescentConfig {

    /** standalone (default), master or worker; the profiles of the same names set it. */
    @WithDefault("standalone")
    Role role();

    /** Names the cluster; metadata keys live under /crescent/&lt;cluster&gt;/. */
    @WithDefault("default")
    String cluster();

    /** This node's name; defaults to the host name. */
    Optional<String> nodeName();

    MasterConfig master();

    WorkerConfig worker();

    ClientConfig client();

    TransferConfig transfer();

    AccessConfig access();

    MetadataConfig metadata();

    ApiConfig api();

    EventsConfig events();

    /** Object events (stored, removed, evicted) for watchers and cache-aware routers; served by master roles. */
    interface EventsConfig {
        /** How many of the last events the master keeps, for watchers to resume from after a reconnect. */
        @WithDefault("65536")
        int buffer();

        ZmqConfig zmq();

        /**
         * A publisher in vLLM's KV-event format (msgpack {@code KVEventBatch}es over a ZeroMQ PUB socket, with a
         * ROUTER socket for replays), so cache-aware routers that read vLLM's events subscribe unchanged. Off
         * unless an endpoint is set; only the serving leader publishes.
         */
        interface ZmqConfig {
            /** PUB socket, e.g. {@code tcp://*:5557} (bound when it has a wildcard, else connected, as vLLM does). */
            Optional<String> endpoint();

            /** ROUTER socket answering replay requests, e.g. {@code tcp://*:5558}. */
            Optional<String> replayEndpoint();

            /** Topic frame of every message (default: empty, as vLLM's). */
            Optional<String> topic();

            /** The {@code medium} events name (vLLM's engines say GPU or CPU). */
            @WithDefault("CRESCENT")
            String medium();
        }
    }

    /** The REST and gRPC gateways. */
    interface ApiConfig {
        /**
         * The largest object a gateway takes; a PUT that announces more is refused before its body is read (bodies
         * are held in memory while they arrive).
         */
        @WithDefault("1G")
        MemorySize maxObjectSize();

        /**
         * A gRPC call that streams its request (an object put) is closed with RPC_TIMEOUT when no message arrives
         * for this long; gRPC drops a message it cannot parse, and the stream would otherwise wait for ever.
         */
        @WithDefault("30s")
        Duration grpcStreamIdleTimeout();
    }

    /** Where cluster metadata lives: etcd when endpoints are set, else the embedded in-process store. */
    interface MetadataConfig {
        EtcdConfig etcd();

        interface EtcdConfig {
            /** etcd client URLs, e.g. {@code http://10.0.0.5:2379,http://10.0.0.6:2379}; absent: embedded store. */
            Optional<List<String>> endpoints();

            /** Every etcd call fails as METADATA_ERROR after this long. */
            @WithDefault("5s")
            Duration timeout();
        }
    }

    /** The access whitelist and the transfer tickets that carry it to the data plane. */
    interface AccessConfig {
        /**
         * Enforce the whitelist on every master RPC and REST call, and (on workers) serve only transfers with a
         * valid master-signed ticket. Off by default: a single box needs no rules.
         */
        @WithDefault("false")
        boolean enabled();

        /**
         * Secret (at least 16 bytes) masters sign transfer tickets with and workers verify them with: the same
         * value on every node. Required with access on in the master and worker roles; standalone makes one up.
         */
        Optional<String> ticketSecret();

        /**
         * Let rules match node names that callers only state (the {@code X-Crescent-Node} / {@code crescent-node}
         * header, the wire hello). Off, a rule's node names match only the subject CN of a verified client
         * certificate (mutual TLS on the control plane): a stated name proves nothing. For networks where every
         * caller is trusted anyway, and for tests of the rules themselves.
         */
        @WithDefault("false")
        boolean trustStatedNames();

        /** Rules by name: {@code crescent.access.rules.<name>.rights=read,write} and so on. */
        Map<String, RuleConfig> rules();

        interface RuleConfig {
            /** Node names the rule applies to ({@code *}: any); absent: any. */
            Optional<List<String>> nodes();

            /** Networks the caller's address must be in; absent: any. */
            Optional<List<String>> cidrs();

            /** Key prefixes it covers; absent: every key. */
            Optional<List<String>> prefixes();

            /** read, write, mount, admin. */
            Set<Right> rights();
        }
    }

    /** When a change made by an elected master counts as durable. */
    enum OplogAck {
        STANDBY,
        ETCD
    }

    interface MasterConfig {
        /**
         * The longest a read lease (from GetReplicaList) protects an object from reuse, eviction and plain Remove.
         * Readers hand their lease back when their transfer ends; this is the safety net for readers that die.
         */
        @WithDefault("10s")
        Duration leaseTtl();

        /**
         * How many replaced versions of one key may wait for their readers at once; an upsert past that is
         * refused with OBJECT_HAS_LEASE, so a hot key pins at most this many times its size.
         */
        @WithDefault("4")
        int maxLeasedVersions();

        /** After this long an unfinished PutStart may be pre-empted by another writer of the key. */
        @WithDefault("30s")
        Duration putStartDiscardTimeout();

        /** After this long the ranges of an unfinished PutStart are reclaimed. */
        @WithDefault("600s")
        Duration putStartReleaseTimeout();

        /** Replicas per object when a put does not say. */
        @WithDefault("1")
        int replicaNum();

        /** Offset and size granularity of segment allocations, in bytes (a power of two). */
        @WithDefault("64")
        int allocationAlignment();

        /** With several masters over etcd: the leader's lease; a dead leader is replaced within about this long. */
        @WithDefault("3s")
        Duration leaderTtl();

        /**
         * The leader snapshots its index and compacts the op-log after this many logged changes, or after as many as
         * the last snapshot had entries if that is more: a snapshot writes the whole index.
         */
        @WithDefault("10000")
        long snapshotEvery();

        /**
         * With several masters over etcd, when a change is durable and acknowledged: {@code standby}, once every live
         * standby holds it in memory (etcd is written behind; a change is lost only if the leader and every standby
         * die together), or {@code etcd}, once etcd has it on disk (each put then waits for etcd's fsync).
         */
        @WithDefault("standby")
        OplogAck oplogAck();

        /** Port on which a standby takes the leader's op-log batches (0: a free one, published in etcd). */
        @WithDefault("0")
        int oplogReplicationPort();

        /** host:port workers and clients reach this master at; default: this host's address and HTTP port. */
        Optional<String> advertiseAddress();

        /** How long a soft pin protects an object after its put or its last read. */
        @WithDefault("30m")
        Duration softPinTtl();

        /**
         * Serve the lean binary master protocol next to gRPC (its port announced at {@code /v1/master-wire}); Java
         * clients use it when the master offers it.
         */
        @WithDefault("true")
        boolean wire();

        /** Port of the master wire protocol's listener; 0 picks a free one. */
        @WithDefault("0")
        int wirePort();

        /**
         * Event loops that serve the wire port's connections (each connection stays on one, so its calls run in
         * order); 0: one per core, at least two.
         */
        @WithDefault("0")
        int wireLoops();

        /**
         * Port of the wire listener for batched reads (clients send {@code BatchGetReplicaList} and
         * {@code BatchExist} there; announced with the other); 0 picks a free one. Its connections are spread over
         * {@code wire-batch-loops} event loops; clients keep batched reads on connections of their own, so a single
         * call never waits behind a batch's on one connection.
         */
        @WithDefault("0")
        int wireBatchPort();

        /** Event loops that serve batched wire calls; 0: one per core, at least two. */
        @WithDefault("0")
        int wireBatchLoops();

        /**
         * How many wire connections may each be served by a thread of its own, on the direct listener (plaintext
         * only; announced as {@code direct-port}), which Java clients prefer: the kernel wakes a connection's thread
         * when its request arrives, with no selector and no channel pipeline in between. Past it, callers are sent to
         * the event loops' port, which serves any number. 0: no direct listener.
         */
        @WithDefault("64")
        int wireThreads();

        /** Port of the direct wire listener ({@code wire-threads}); 0 picks a free one. */
        @WithDefault("0")
        int wireDirectPort();

        /** A wire connection that does not finish its hello or a frame within this is closed. */
        @WithDefault("10s")
        Duration wireFrameTimeout();

        /**
         * Bytes of unfinished wire frames the master holds across all connections; a frame that would pass it closes
         * its connection, so no set of callers can fill the heap with frames they never finish.
         */
        @WithDefault("256M")
        MemorySize wireBufferBudget();

        /**
         * How many request rings (shared-memory control paths for wire callers on this host, each served by a thread
         * of its own) may be open at once; a caller past it keeps calling over its socket. 0: none. A ring's file goes
         * where segment files do ({@code crescent.worker.shm-dir}, readable by {@code crescent.worker.shm-group}).
         */
        @WithDefault("16")
        int wireRings();

        /**
         * The largest object whose bytes may travel with its master call (a put start that carries them, a replica
         * list that answers them), when this master reaches the replica by a memory copy: a small put or get is then
         * one round trip. 0: never. At most 16M. A put start that brings larger bytes ({@link #streamedPutMaxBytes})
         * has them copied between its placing and its commit, not within the key's step.
         */
        @WithDefault("64K")
        MemorySize inlineMaxBytes();

        /**
         * The largest put whose bytes a client sends with its put start on the direct listener, which reads them from
         * the socket straight into the object's memory and commits the put in that call: one round trip instead of
         * three for puts past {@link #inlineMaxBytes}. Announced only by a standalone master, whose own worker's
         * memory is where its puts land (a put placed out of its reach is answered with its replicas, and the bytes
         * sent with it were sent for nothing). 0: never. At most 32M (half a frame's limit).
         */
        @WithDefault("16M")
        MemorySize streamedPutMaxBytes();

        /**
         * A file a master without etcd writes every durable change to before acknowledging it, and replays when it
         * starts: restarted after kill -9, it keeps every acknowledged object whose worker memory survived (its own
         * standalone worker's included). Unset: the index lives only in the master's memory. Ignored over etcd,
         * where the op-log lives in etcd.
         */
        Optional<String> oplogFile();

        /** A worker or client that mounted memory and is silent this long is declared dead; its segments go. */
        @WithDefault("10s")
        Duration clientTtl();

        /**
         * How long the segments of a worker declared dead stay, out of use (no puts placed there, its objects not
         * read), for a restart of the worker to take them over with their objects; after that they go. 0: at once.
         */
        @WithDefault("0s")
        Duration restartGrace();

        EvictionConfig eviction();

        PlacementConfig placement();

        interface PlacementConfig {
            /** random (default), free-ratio-first or local-first. */
            @WithDefault("random")
            String strategy();
        }

        interface EvictionConfig {
            /** lru (default), fifo or lfu. */
            @WithDefault("lru")
            String policy();

            /** Eviction starts when used / capacity exceeds this... */
            @WithDefault("0.90")
            double highWatermark();

            /** ...and frees this share of capacity (also the least a failed allocation evicts). */
            @WithDefault("0.05")
            double ratio();

            /**
             * What becomes of an object evicted from DRAM while a worker's disk tier is mounted: {@code offload}
             * moves it there (and a read brings it back), {@code drop} drops it as without a disk tier.
             */
            @WithDefault("offload")
            FromDram fromDram();

            enum FromDram {
                OFFLOAD,
                DROP
            }
        }
    }

    interface WorkerConfig {
        /** Memory this worker contributes to the pool. */
        @WithDefault("256M")
        MemorySize segmentSize();

        /** Segment name; defaults to the node name. */
        Optional<String> segmentName();

        /**
         * Directory of the shared-memory file backing the segment, so same-host clients can map it. When the
         * directory does not exist the segment is plain process memory.
         */
        @WithDefault("/dev/shm")
        String shmDir();

        /**
         * A group that may read and write the segment file besides the worker's user (same-host clients running as
         * another user); unset: the file is the worker user's alone (mode 0600) and such clients go over TCP.
         */
        Optional<String> shmGroup();

        /**
         * How long the segment file of a process that died (kill -9, a crash) stays in the shared-memory directory
         * for a restart of its segment, which adopts it with its objects; after that the next segment opened on the
         * host deletes it. A restarted worker finds its own file whatever its age.
         */
        @WithDefault("10m")
        Duration orphanRetention();

        /**
         * A stop (SIGTERM) for a restart: the worker drains its transfers and exits without unmounting, and leaves
         * its segment file, so the worker started next with the same segment name takes its objects over (within
         * the master's client-ttl). Off: a stop gives the memory back, and the objects on it go.
         */
        @WithDefault("false")
        boolean stopKeepsObjects();

        /** The worker's disk tier: a file on a local disk the master moves objects to instead of evicting them. */
        DiskConfig disk();

        interface DiskConfig {
            /** Directory of the disk tier's file; unset: no disk tier. */
            Optional<String> path();

            /** Size of the disk tier's file. */
            @WithDefault("1G")
            MemorySize capacity();
        }

        /** Master gRPC address (host:port) a worker-role process mounts its segment at. */
        @WithDefault("localhost:8080")
        String masterAddress();

        /** How often a worker tells the master it is alive. */
        @WithDefault("1s")
        Duration heartbeatInterval();

        /** The worker's descriptor and record in the metadata store vanish this long after it stops renewing them. */
        @WithDefault("10s")
        Duration leaseTtl();
    }

    /** How a worker (or any process not running the master) calls the master. */
    interface ClientConfig {
        /** The longest one attempt of a master call may take. */
        @WithDefault("5s")
        Duration callTimeout();

        /**
         * How long a master call keeps retrying, with back-off, while no master leads or answers; it should cover
         * a leader election (about leader-ttl), so callers see a delay instead of an error during a failover.
         */
        @WithDefault("15s")
        Duration failoverWindow();
    }

    interface TransferConfig {
        TcpConfig tcp();

        ShmConfig shm();

        LocalConfig local();

        ReporterConfig reporter();

        TopologyConfig topology();

        RdmaConfig rdma();

        /** One-sided RDMA through rdma-core (see README "RDMA"). */
        interface RdmaConfig {
            /** Use and serve RDMA; needs an RDMA NIC, libibverbs and a build with the verbs shim. */
            @WithDefault("false")
            boolean enabled();

            /** When RDMA cannot start here, run on TCP with a warning instead of refusing to start. */
            @WithDefault("true")
            boolean fallbackToTcp();

            /** When set, only these RDMA devices (e.g. mlx5_0) are used. */
            Optional<Set<String>> deviceAllow();

            /** These RDMA devices are never used. */
            Optional<Set<String>> deviceDeny();

            /** Device port. */
            @WithDefault("1")
            int port();

            /** GID table entry for RoCE (often 3 for RoCE v2 over IPv4; 0 on InfiniBand). */
            @WithDefault("0")
            int gidIndex();

            /** Requests are cut into slices of this size and spread over the NICs. */
            @WithDefault("64K")
            MemorySize sliceSize();

            /** Tries per slice, each on another NIC. */
            @WithDefault("3")
            int maxAttempts();

            /** Failures in a row that pause a NIC... */
            @WithDefault("3")
            int railErrorThreshold();

            /** ...for this long. */
            @WithDefault("5s")
            Duration railPause();

            /** Connected queue pairs kept; the least recently used are closed. */
            @WithDefault("256")
            int endpointCacheSize();

            /** Work requests in flight per queue pair. */
            @WithDefault("256")
            int queueDepth();

            /** Segments are backed by 2 MiB huge pages (shm-dir on hugetlbfs): registration keeps huge pages whole. */
            @WithDefault("false")
            boolean hugePages();

            /** A verbs shim to load instead of the one bundled in the jar. */
            Optional<String> shimPath();

            /** A slice not completed within this fails (and is retried on another NIC). */
            @WithDefault("10s")
            Duration timeout();

            /** Serve RDMA with access control on (remote keys bypass transfer tickets; off by default). */
            @WithDefault("false")
            boolean serveWithAccessControl();
        }

        interface TcpConfig {
            /** Serve and use the TCP transport. */
            @WithDefault("true")
            boolean enabled();

            /** Address the worker's transfer server listens on. */
            @WithDefault("0.0.0.0")
            String bindHost();

            /** Port of the transfer server; 0 picks a free one (it is published with the segment). */
            @WithDefault("0")
            int port();

            /** Host other nodes use to reach this one; defaults to this host's address. */
            Optional<String> advertiseHost();

            /**
             * Serve TCP transfers over TLS only, with this node's TLS configuration (the control plane's, from
             * {@code quarkus.tls.*}); the segment's endpoint says so, and peers connect with their own TLS context.
             * Tickets are checked as without TLS. Off: plain TCP (the tickets still authenticate every transfer).
             */
            @WithDefault("false")
            boolean tls();

            /** Parallel connections to one peer. */
            @WithDefault("4")
            int connectionsPerPeer();

            /** Requests are cut into slices of at most this size and pipelined. */
            @WithDefault("1M")
            MemorySize sliceSize();

            /** A slice not answered within this fails as TIMEOUT. */
            @WithDefault("10s")
            Duration timeout();

            /** Tries per slice; retries use another connection. */
            @WithDefault("3")
            int maxAttempts();

            /** Connection failures within blacklist-window that blacklist a peer... */
            @WithDefault("5")
            int blacklistFailures();

            @WithDefault("10s")
            Duration blacklistWindow();

            /** ...for this long; then it is tried again. */
            @WithDefault("5s")
            Duration blacklistCooldown();

            /** The server drops connections that do not shake hands within this. */
            @WithDefault("5s")
            Duration handshakeTimeout();

            /** The server drops connections that stall inside one frame for this long. */
            @WithDefault("30s")
            Duration frameTimeout();

            /** The server drops connections that send no frame for this long (clients reconnect when they need to). */
            @WithDefault("5m")
            Duration idleTimeout();

            /**
             * The server closes new connections at once while this many are open: each holds a thread and about
             * 130 KiB of buffers.
             */
            @WithDefault("1024")
            int maxConnections();
        }

        interface ShmConfig {
            /** Map same-host workers' shared-memory segments directly. */
            @WithDefault("true")
            boolean enabled();
        }

        interface LocalConfig {
            /**
             * Copy in memory to segments of this very process (a standalone node's own segment). Off, such transfers
             * take the next transport that reaches the segment (shm, then tcp), as another node's would: dev mode
             * turns it and shm off so that it exercises a cluster's network path.
             */
            @WithDefault("true")
            boolean enabled();
        }

        interface TopologyConfig {
            /** Where sysfs is mounted (a test or container may point elsewhere). */
            @WithDefault("/sys")
            String sysfsRoot();

            /** When set, only these NICs / RDMA devices are used. */
            Optional<Set<String>> nicAllow();

            /** These NICs / RDMA devices are never used. */
            Optional<Set<String>> nicDeny();
        }

        interface ReporterConfig {
            /** Log throughput and a latency histogram periodically. */
            @WithDefault("false")
            boolean enabled();

            @WithDefault("5s")
            Duration interval();
        }
    }
}
