package dev.crescent.bench;

import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.tcp.TcpServerLimits;
import dev.crescent.transfer.tcp.TcpTransferServer;
import dev.crescent.worker.WorkerSegment;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A bare transfer target in its own JVM (no Quarkus): one shared-memory segment served over TCP. Prints
 * {@code READY <segment> <endpoint>} and runs until its standard input closes. Used by the transfer benchmark
 * and the two-process tests.
 *
 * <p>Arguments: segment name, segment bytes, and optionally a ticket secret: then only transfers carrying a
 * ticket signed with it are served.
 */
public final class TransferTargetMain {
    private TransferTargetMain() {}

    public static void main(String[] args) throws IOException {
        String name = args.length > 0 ? args[0] : "bench-target";
        long bytes = args.length > 1 ? Long.parseLong(args[1]) : 256L << 20;
        TicketSigner tickets = args.length > 2 ? new TicketSigner(args[2].getBytes(StandardCharsets.UTF_8)) : null;
        RegisteredMemory memory = new RegisteredMemory();
        try (WorkerSegment segment = WorkerSegment.create(name, bytes, Path.of("/dev/shm"));
                TcpTransferServer server = new TcpTransferServer(
                        memory,
                        new InetSocketAddress("127.0.0.1", 0),
                        TcpServerLimits.of(Duration.ofSeconds(5), Duration.ofSeconds(30)),
                        tickets)) {
            memory.register(name, segment.memory(), WorkerSegment.LOCATION);
            String endpoint = segment.endpoint("127.0.0.1:" + server.port());
            System.out.println("READY " + name + " " + endpoint);
            System.out.flush();
            while (System.in.read() >= 0) {
                // Runs until the parent closes our stdin (or dies).
            }
        }
    }
}
