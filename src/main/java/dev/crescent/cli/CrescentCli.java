package dev.crescent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.client.ClientOptions;
import dev.crescent.client.ClientTls;
import dev.crescent.client.CrescentClient;
import dev.crescent.client.EventWatcher;
import dev.crescent.client.LeaderLookup;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.etcd.EtcdMetadataStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * {@code crescent}: the operator's command line. Objects move through the Java client (files are memory-mapped,
 * so a put or get copies nothing in this process); listings and cluster status come from the master's admin REST
 * API. Errors print the cluster's error code and name, and the exit status is 1.
 */
@Command(
        name = "crescent",
        mixinStandardHelpOptions = true,
        version = "crescent 0.1.0",
        description = "Operate a Crescent KV-cache store.",
        subcommands = {
            CrescentCli.Put.class,
            CrescentCli.Get.class,
            CrescentCli.Ls.class,
            CrescentCli.Stat.class,
            CrescentCli.Rm.class,
            CrescentCli.Status.class,
            CrescentCli.Watch.class,
            BenchCommand.class
        })
public final class CrescentCli {
    @Option(
            names = {"-m", "--master"},
            scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:CRESCENT_MASTER:-localhost:8080}",
            description = "master (leader) host:port, its HTTP port (default: $CRESCENT_MASTER or ${DEFAULT-VALUE})")
    String master;

    @Option(
            names = "--etcd",
            scope = CommandLine.ScopeType.INHERIT,
            split = ",",
            defaultValue = "${env:CRESCENT_ETCD}",
            description = "etcd endpoints where the masters of an HA cluster elect their leader (http://host:port,...):"
                    + " commands go to the leader found there, and --master is not needed (default: $CRESCENT_ETCD)")
    List<String> etcd;

    @Option(
            names = "--cluster",
            scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:CRESCENT_CLUSTER:-default}",
            description =
                    "the cluster's name in etcd, its crescent.cluster (default: $CRESCENT_CLUSTER or ${DEFAULT-VALUE})")
    String cluster;

    /** The master commands go to, once found: the leader elected in etcd with --etcd, else --master. */
    private String leader;

    @Option(
            names = "--tls-cert",
            scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:CRESCENT_TLS_CERT}",
            description = "this node's certificate (PEM) for a master with mutual TLS; needs --tls-key and --tls-ca "
                    + "(default: $CRESCENT_TLS_CERT)")
    Path tlsCert;

    @Option(
            names = "--tls-key",
            scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:CRESCENT_TLS_KEY}",
            description = "its private key, PKCS#8 PEM (default: $CRESCENT_TLS_KEY)")
    Path tlsKey;

    @Option(
            names = "--tls-ca",
            scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:CRESCENT_TLS_CA}",
            description =
                    "CA certificates (PEM) the master's certificate is checked against (default: $CRESCENT_TLS_CA)")
    Path tlsCa;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line; @return the exit status */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine line = new CommandLine(new CrescentCli());
        line.setOut(out);
        line.setErr(err);
        line.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof StoreException store) {
                err.println(
                        "error " + store.code().number() + " " + store.code().name() + ": " + store.getMessage());
            } else {
                err.println("error: " + e.getMessage());
            }
            return 1;
        });
        return line.execute(args);
    }

    /** The master's host:port: with --etcd, the leader's as etcd names it now (NOT_LEADER while none leads). */
    String master() {
        if (leader == null) {
            if (etcd == null || etcd.isEmpty()) {
                leader = master;
            } else {
                try (EtcdMetadataStore store = new EtcdMetadataStore(etcd, Duration.ofSeconds(5))) {
                    leader = LeaderLookup.in(store, new MetadataKeys(cluster)).get();
                }
            }
        }
        return leader;
    }

    CrescentClient connect() {
        // With etcd the client follows the leader itself, across a failover in the middle of a command.
        ClientOptions options = (etcd == null || etcd.isEmpty()
                        ? ClientOptions.master(master)
                        : ClientOptions.etcd(etcd, cluster))
                .withNodeName("crescent-cli");
        SSLContext tls = tls();
        return CrescentClient.connect(tls == null ? options : options.withTls(tls));
    }

    /** The TLS context the options name, or null for plaintext. */
    private SSLContext tls() {
        if (tlsCert == null && tlsKey == null && tlsCa == null) {
            return null;
        }
        if (tlsCert == null || tlsKey == null || tlsCa == null) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "TLS needs all of --tls-cert, --tls-key and --tls-ca");
        }
        return ClientTls.fromPem(tlsCert, tlsKey, tlsCa);
    }

    /** GET on the master's admin API; an error answer becomes a StoreException with its code. */
    JsonNode admin(String path) throws IOException, InterruptedException {
        SSLContext tls = tls();
        HttpClient.Builder client = HttpClient.newBuilder();
        if (tls != null) {
            client.sslContext(tls);
        }
        try (HttpClient http = client.build()) {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create((tls == null ? "http://" : "https://") + master() + path))
                            .header("X-Crescent-Node", "crescent-cli")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode body = new ObjectMapper().readTree(response.body());
            if (response.statusCode() >= 400) {
                throw new StoreException(
                        ErrorCode.fromNumber(body.path("code").asInt(-1)),
                        body.path("message").asText(response.body()));
            }
            return body;
        }
    }

    static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format("%.1f %s", value, units[unit]);
    }

    @Command(name = "put", description = "Store a file under a key.")
    static final class Put implements Callable<Integer> {
        @CommandLine.ParentCommand
        CrescentCli cli;

        @Parameters(index = "0", description = "key")
        String key;

        @Parameters(index = "1", description = "file")
        Path file;

        @Option(names = "--upsert", description = "overwrite an existing object")
        boolean upsert;

        @Override
        public Integer call() throws IOException {
            try (CrescentClient client = cli.connect();
                    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
                    Arena arena = Arena.ofConfined()) {
                MemorySegment bytes = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
                if (upsert) {
                    client.upsertFrom(key, bytes);
                } else {
                    client.putFrom(key, bytes);
                }
                cli.spec.commandLine().getOut().println("put " + key + " (" + human(bytes.byteSize()) + ")");
            }
            return 0;
        }
    }

    @Command(name = "get", description = "Write an object into a file.")
    static final class Get implements Callable<Integer> {
        @CommandLine.ParentCommand
        CrescentCli cli;

        @Parameters(index = "0", description = "key")
        String key;

        @Parameters(index = "1", description = "file (created or replaced)")
        Path file;

        @Override
        public Integer call() throws IOException {
            try (CrescentClient client = cli.connect()) {
                long size = client.size(key);
                try (FileChannel channel = FileChannel.open(
                                file,
                                StandardOpenOption.CREATE,
                                StandardOpenOption.READ,
                                StandardOpenOption.WRITE,
                                StandardOpenOption.TRUNCATE_EXISTING);
                        Arena arena = Arena.ofConfined()) {
                    MemorySegment target = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
                    client.getInto(key, target);
                    target.force();
                }
                cli.spec.commandLine().getOut().println("got " + key + " (" + human(size) + ") into " + file);
            }
            return 0;
        }
    }

    @Command(name = "ls", description = "List keys by prefix.")
    static final class Ls implements Callable<Integer> {
        @CommandLine.ParentCommand
        CrescentCli cli;

        @Parameters(index = "0", defaultValue = "", description = "key prefix")
        String prefix;

        @Option(names = "--limit", defaultValue = "1000", description = "at most this many keys")
        int limit;

        @Override
        public Integer call() throws IOException, InterruptedException {
            JsonNode list = cli.admin(
                    "/v1/keys?prefix=" + URLEncoder.encode(prefix, StandardCharsets.UTF_8) + "&limit=" + limit);
            PrintWriter out = cli.spec.commandLine().getOut();
            list.path("keys").forEach(k -> out.println(k.asText()));
            if (list.path("truncated").asBoolean()) {
                out.println("... (more than " + limit + "; use --limit)");
            }
            return 0;
        }
    }

    @Command(name = "stat", description = "Show an object: size, state, replicas, leases, pins.")
    static final class Stat implements Callable<Integer> {
        @CommandLine.ParentCommand
        CrescentCli cli;

        @Parameters(index = "0", description = "key")
        String key;

        @Override
        public Integer call() throws IOException, InterruptedException {
            JsonNode info = cli.admin("/v1/keys/" + key);
            PrintWriter out = cli.spec.commandLine().getOut();
            out.printf(
                    "key      %s%nsize     %s (%d bytes)%nstate    %s%nowner    %s%n",
                    info.path("key").asText(),
                    human(info.path("size").asLong()),
                    info.path("size").asLong(),
                    info.path("state").asText(),
                    info.path("owner").asText());
            info.path("replicas")
                    .forEach(r -> out.printf(
                            "replica  %s @ %d (%s)%n",
                            r.path("segment").asText(),
                            r.path("offset").asLong(),
                            r.path("endpoint").asText()));
            info.fields().forEachRemaining(field -> {
                if (!field.getKey().matches("key|size|state|owner|replicas")) {
                    out.printf("%-8s %s%n", field.getKey(), field.getValue());
                }
            });
            return 0;
        }
    }

    @Command(name = "rm", description = "Remove objects.")
    static final class Rm implements Callable<Integer> {
        @CommandLine.ParentCommand
        CrescentCli cli;

        @Parameters(arity = "1..*", description = "keys")
        java.util.List<String> keys;

        @Option(
                names = "--no-force",
                negatable = true,
                defaultValue = "true",
                description = "refuse objects a reader holds a lease on (default: remove them anyway)")
        boolean force;

        @Override
        public Integer call() {
            try (CrescentClient client = cli.connect()) {
                int failed = 0;
                for (var result : client.batchRemove(keys, force)) {
                    if (result.ok()) {
                        cli.spec.commandLine().getOut().println("removed " + result.key());
                    } else {
                        failed++;
                        cli.spec
                                .commandLine()
                                .getErr()
                                .println(result.key() + ": error "
                                        + result.code().number() + " "
                                        + result.code().name());
                    }
                }
                return failed == 0 ? 0 : 1;
            }
        }
    }

    @Command(name = "status", description = "Cluster status: master, segments and usage, workers.")
    static final class Status implements Callable<Integer> {
        @CommandLine.ParentCommand
        CrescentCli cli;

        @Override
        public Integer call() throws IOException, InterruptedException {
            JsonNode cluster = cli.admin("/v1/cluster");
            JsonNode stats = cluster.path("stats");
            PrintWriter out = cli.spec.commandLine().getOut();
            out.printf(
                    "master   %s (%s), placement %s, eviction %s, access control %s%n",
                    cli.master(),
                    cluster.path("role").asText(),
                    cluster.path("placement").asText(),
                    cluster.path("eviction").asText(),
                    cluster.path("accessControl").asBoolean() ? "on" : "off");
            List<String> masters = new ArrayList<>();
            for (JsonNode member : cluster.path("masters")) {
                masters.add(member.path("address").asText() + " ("
                        + member.path("role").asText() + ")");
            }
            if (!masters.isEmpty()) {
                out.printf("masters  %s%n", String.join(", ", masters));
            }
            out.printf(
                    "objects  %d (%d being written)%nmemory   %s used of %s%n",
                    stats.path("objectCount").asLong(),
                    stats.path("processingCount").asLong(),
                    human(stats.path("usedBytes").asLong()),
                    human(stats.path("capacityBytes").asLong()));
            if (stats.path("diskCapacityBytes").asLong() > 0) {
                out.printf(
                        "disk     %s used of %s (%d objects moved to disk, %d back to memory)%n",
                        human(stats.path("diskUsedBytes").asLong()),
                        human(stats.path("diskCapacityBytes").asLong()),
                        stats.path("offloadedObjects").asLong(),
                        stats.path("promotedObjects").asLong());
            }
            out.printf("%n%-24s %-5s %-28s %12s %12s %6s%n", "SEGMENT", "TIER", "OWNER", "CAPACITY", "USED", "USE%");
            for (JsonNode segment : cli.admin("/v1/segments")) {
                long capacity = segment.path("capacityBytes").asLong();
                long used = segment.path("usedBytes").asLong();
                out.printf(
                        "%-24s %-5s %-28s %12s %12s %5.1f%%%n",
                        segment.path("name").asText(),
                        segment.path("tier").asText("dram"),
                        segment.path("owner").asText(),
                        human(capacity),
                        human(used),
                        capacity == 0 ? 0.0 : 100.0 * used / capacity);
            }
            out.printf("%n%-36s %10s  %s%n", "WORKER", "SILENT", "SEGMENTS");
            for (JsonNode worker : cli.admin("/v1/workers")) {
                out.printf(
                        "%-36s %8d ms  %s%n",
                        worker.path("clientId").asText(),
                        worker.path("silentMillis").asLong(),
                        worker.path("segments"));
            }
            return 0;
        }
    }

    @Command(
            name = "watch",
            description = "Print object events (stored, removed, evicted) as they happen, one line each:"
                    + " sequence, kind, key, size, segments. With --etcd it follows the leader across failovers"
                    + " without repeats or gaps; it exits with EVENTS_LOST (-1300) when it cannot.")
    static final class Watch implements Callable<Integer> {
        @CommandLine.ParentCommand
        CrescentCli cli;

        @Parameters(arity = "0..1", defaultValue = "", description = "key prefix (default: every key)")
        String prefix;

        @Option(
                names = "--reconnect-seconds",
                defaultValue = "30",
                description = "keep trying to reconnect this long after the stream breaks (default: ${DEFAULT-VALUE})")
        int reconnectSeconds;

        @Override
        public Integer call() {
            PrintWriter out = cli.spec.commandLine().getOut();
            EtcdMetadataStore store = cli.etcd == null || cli.etcd.isEmpty()
                    ? null
                    : new EtcdMetadataStore(cli.etcd, Duration.ofSeconds(5));
            try {
                Supplier<String> leader =
                        store == null ? () -> cli.master : LeaderLookup.in(store, new MetadataKeys(cli.cluster));
                new EventWatcher(leader, cli.tls(), "crescent-cli", Duration.ofSeconds(reconnectSeconds))
                        .follow(
                                prefix,
                                event -> out.printf(
                                        "%d %s %s %d %s%n",
                                        event.getSequence(),
                                        event.getKind(),
                                        event.getKey(),
                                        event.getSize(),
                                        String.join(",", event.getSegmentsList())));
                return 0;
            } finally {
                if (store != null) {
                    store.close();
                }
            }
        }
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
}
