package dev.crescent.transfer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@link dev.crescent.bench.TransferTargetMain} in a second JVM, for transfers that really cross processes. */
final class TargetProcess implements AutoCloseable {
    final Process process;
    final String segment;
    final String endpoint;

    private TargetProcess(Process process, String segment, String endpoint) {
        this.process = process;
        this.segment = segment;
        this.endpoint = endpoint;
    }

    static TargetProcess start(String segment, long bytes) throws IOException {
        return start(segment, bytes, null);
    }

    /** @param ticketSecret when not null, the target serves only transfers with a ticket signed with it */
    static TargetProcess start(String segment, long bytes, String ticketSecret) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(
                java,
                "-Xmx128m",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.crescent.bench.TransferTargetMain",
                segment,
                Long.toString(bytes)));
        if (ticketSecret != null) {
            command.add(ticketSecret);
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        BufferedReader out =
                new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("READY ")) {
                String[] parts = line.split(" ");
                return new TargetProcess(process, parts[1], parts[2]);
            }
        }
        throw new IOException("target exited without becoming ready (" + process + ")");
    }

    /** The endpoint with only the transports named kept ("tcp", "shm"), so a test forces one path. */
    String endpointFor(String... transports) {
        PeerAddress all = PeerAddress.parse(endpoint);
        List<String> keep = List.of(transports);
        return new PeerAddress(
                        all.hostId(), keep.contains("tcp") ? all.tcp() : "", keep.contains("shm") ? all.shmFile() : "")
                .format();
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws IOException {
        process.getOutputStream().close();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
