package dev.crescent.it;

import dev.crescent.transfer.shm.ShmFiles;
import io.restassured.path.json.JsonPath;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged Crescent jar running as a separate JVM on a free port, for tests that need real processes.
 * The port is read from the "Listening on" log line, so nothing is hard-coded.
 */
public final class CrescentProcess implements AutoCloseable {
    /** The first address the server lists: its plain HTTP port, or its TLS port when it serves TLS only. */
    private static final Pattern LISTENING = Pattern.compile("Listening on: (https?)://[^:]+:(\\d+)");

    /**
     * The pids of every process the tests started. A killed worker's segment file stays in its directory on
     * purpose, for a worker started again to adopt (issue 21), and tests do exactly that; once the tests are over no
     * one will, and the files of one {@code bin/test} run's killed processes held over a GiB of shared memory until
     * the next run. So they go when this JVM does.
     */
    private static final Set<Long> STARTED = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(CrescentProcess::deleteSegmentFiles));
    }

    private final Process process;
    private final StringBuffer log = new StringBuffer();
    private final CompletableFuture<Integer> port = new CompletableFuture<>();
    private volatile String scheme = "http";
    private final String name;
    private final Thread logPump;

    /** The address others reach this process at (the lab host's address, or localhost). */
    private final String host;

    private CrescentProcess(String name, Process process, String host) {
        this.name = name;
        this.process = process;
        this.host = host;
        this.logPump = Thread.ofPlatform().daemon().name("log-" + name).start(this::pumpLog);
    }

    /** Starts the jar with {@code -D} properties (name=value) and waits until it listens. */
    public static CrescentProcess start(String name, String... properties) throws IOException {
        return start(List.of(), "localhost", name, properties);
    }

    /**
     * Starts the jar on a host of a {@link NetworkLab}: inside its namespace, publishing its address (as the
     * advertised transfer host and master address) so other hosts reach it there.
     */
    static CrescentProcess startOn(NetworkLab.Host host, String name, String... properties) throws IOException {
        List<String> all = new ArrayList<>(List.of(properties));
        all.add("crescent.transfer.tcp.advertise-host=" + host.address());
        return start(host.launcher(), host.address(), name, all.toArray(String[]::new));
    }

    private static CrescentProcess start(List<String> launcher, String host, String name, String... properties)
            throws IOException {
        List<String> command = new ArrayList<>(launcher);
        Service service = service();
        command.addAll(service.program());
        command.add("-Xmx512m");
        command.add("-Dquarkus.http.port=0");
        command.add("-Dcrescent.node-name=" + name);
        for (String property : properties) {
            command.add("-D" + property);
        }
        command.addAll(service.after());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        STARTED.add(process.pid());
        CrescentProcess started = new CrescentProcess(name, process, host);
        try {
            started.port.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            started.close();
            throw new IllegalStateException(name + " did not start listening:\n" + started.log, e);
        }
        return started;
    }

    /** How to start the service: {@code program}, then its -Xmx and -D options, then {@code after}. */
    record Service(List<String> program, List<String> after) {}

    /**
     * The native executable when {@code crescent.native.runner} names one (the native profile's integration tests),
     * else the packaged jar on this JVM. Both take {@code -Xmx} and {@code -D} options.
     */
    static Service service() {
        String runner = System.getProperty("crescent.native.runner", "");
        if (!runner.isEmpty()) {
            if (!Files.isExecutable(Path.of(runner))) {
                throw new IllegalStateException(runner + " missing: build it with ./mvnw package -Dnative");
            }
            return new Service(List.of(runner), List.of());
        }
        Path jar = Path.of(System.getProperty("crescent.app.dir", "target/quarkus-app"))
                .resolve("quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " missing: run `./mvnw verify` (packages before integration tests)");
        }
        return new Service(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()),
                List.of("-jar", jar.toString()));
    }

    /** Whether the tests run against the native executable. */
    static boolean isNative() {
        return !System.getProperty("crescent.native.runner", "").isEmpty();
    }

    public int port() {
        return port.join();
    }

    public String baseUrl() {
        int listening = port();
        return scheme + "://" + host + ":" + listening;
    }

    /** host:port of this process's HTTP (and gRPC) port. */
    public String address() {
        return host + ":" + port();
    }

    /** How many segments this master has mounted, or -1 while it does not answer (e.g. a standby). */
    public int segmentCount() {
        var response = io.restassured.RestAssured.given().baseUri(baseUrl()).get("/v1/segments");
        return response.statusCode() == 200
                ? response.jsonPath().getList("name").size()
                : -1;
    }

    /** This master's {@code /v1/cluster} answer (role, stats, strategies); fails unless it answers 200. */
    public JsonPath cluster() {
        return io.restassured.RestAssured.given()
                .baseUri(baseUrl())
                .get("/v1/cluster")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath();
    }

    /** Puts {@code value} under {@code key} through this node's REST gateway; fails unless it answers 201. */
    public void put(String key, byte[] value) {
        io.restassured.RestAssured.given()
                .baseUri(baseUrl())
                .contentType("application/octet-stream")
                .body(value)
                .put("/v1/objects/" + key)
                .then()
                .statusCode(201);
    }

    /** The value of {@code key} through this node's REST gateway; fails unless it answers 200. */
    public byte[] get(String key) {
        return io.restassured.RestAssured.given()
                .baseUri(baseUrl())
                .get("/v1/objects/" + key)
                .then()
                .statusCode(200)
                .extract()
                .asByteArray();
    }

    public String log() {
        return log.toString();
    }

    /** The node name it was started with. */
    public String name() {
        return name;
    }

    public long pid() {
        return process.pid();
    }

    /** Waits for the process to end by itself; @return its exit status, or -1 if it is still running. */
    public int awaitExit(long timeoutSeconds) throws InterruptedException {
        return process.waitFor(timeoutSeconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    }

    /** SIGKILL: the process dies without any shutdown. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Sends SIGTERM and waits; @return the exit code, or -1 if the process had to be killed. */
    public int terminate(long timeoutSeconds) throws InterruptedException {
        // Process.destroy() would also close our end of the child's output, losing its shutdown log.
        process.toHandle().destroy();
        boolean exited = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!exited) {
            process.destroyForcibly().waitFor();
        }
        logPump.join(TimeUnit.SECONDS.toMillis(5));
        return exited ? process.exitValue() : -1;
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Deletes the segment files, in the directories a worker uses by default, of every process the tests started. */
    private static void deleteSegmentFiles() {
        for (Path directory : ShmFiles.DEFAULT_DIRECTORIES) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, ShmFiles::isSegmentFile)) {
                for (Path file : files) {
                    if (STARTED.contains(ShmFiles.pid(file))) {
                        Files.deleteIfExists(file);
                    }
                }
            } catch (IOException ignored) {
                // no such directory, or a file that went meanwhile: nothing left to delete
            }
        }
    }

    private void pumpLog() {
        try (BufferedReader reader =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                log.append(line).append('\n');
                Matcher m = LISTENING.matcher(line);
                if (m.find() && !port.isDone()) {
                    scheme = m.group(1);
                    port.complete(Integer.parseInt(m.group(2)));
                }
            }
        } catch (IOException ignored) {
            // The process ended.
        }
        port.completeExceptionally(new IllegalStateException(name + " exited"));
    }
}
