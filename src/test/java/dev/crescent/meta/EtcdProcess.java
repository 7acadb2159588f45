package dev.crescent.meta;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real etcd (Debian's etcd-server, which bin/test installs) on free ports with a temporary data directory,
 * for tests of everything that runs over etcd. It can be stopped and started again on the same ports and data,
 * to test an outage.
 */
public final class EtcdProcess implements AutoCloseable {
    private final Path dataDir;
    private final int clientPort;
    private final int peerPort;
    /** The command prefix that runs etcd on its host (empty: this one) and the address it listens on. */
    private final List<String> launcher;

    private final String host;
    private Process process;

    private EtcdProcess(Path dataDir, int clientPort, int peerPort, List<String> launcher, String host) {
        this.dataDir = dataDir;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.launcher = List.copyOf(launcher);
        this.host = host;
    }

    public static EtcdProcess start() throws IOException, InterruptedException {
        return startOn(List.of(), "127.0.0.1");
    }

    /**
     * Starts etcd through {@code launcher} (e.g. {@code ip netns exec <namespace>}, to run it on another network
     * host) listening on {@code host}.
     */
    public static EtcdProcess startOn(List<String> launcher, String host) throws IOException, InterruptedException {
        EtcdProcess etcd =
                new EtcdProcess(Files.createTempDirectory("crescent-etcd"), freePort(), freePort(), launcher, host);
        etcd.startAgain();
        return etcd;
    }

    /** The etcd process (to stop and continue it with signals). */
    public long pid() {
        return process.pid();
    }

    public String endpoint() {
        return "http://" + host + ":" + clientPort;
    }

    /** etcd's output, beside its data directory (while it runs: a test that fails can read it there). */
    private Path log() {
        return dataDir.resolveSibling(dataDir.getFileName() + ".log");
    }

    /** Starts (again) on the same ports and data; returns once it accepts connections. */
    public void startAgain() throws IOException, InterruptedException {
        String client = "http://" + host + ":" + clientPort;
        String peer = "http://" + host + ":" + peerPort;
        List<String> command = new ArrayList<>(launcher);
        command.addAll(List.of(
                "etcd",
                "--name",
                "test",
                "--data-dir",
                dataDir.toString(),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                "test=" + peer,
                "--log-level",
                "error"));
        try {
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log().toFile())
                    .start();
        } catch (IOException e) {
            throw new IOException(
                    "cannot start etcd (install Debian's etcd-server, or run bin/test which does): " + e.getMessage(),
                    e);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try (Socket ignored = new Socket(host, clientPort)) {
                return;
            } catch (IOException notYet) {
                if (!process.isAlive()) {
                    throw new IOException("etcd exited with " + process.exitValue());
                }
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }
        throw new IOException("etcd did not listen on " + clientPort + " within 20 s");
    }

    /** Stops etcd (SIGKILL: an outage, not a shutdown); its data stays for {@link #startAgain}. */
    public void stop() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        stop();
        try (Stream<Path> files = Files.walk(dataDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        Files.deleteIfExists(log());
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
