package dev.crescent.bench;

import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.RequestStatus;
import dev.crescent.transfer.TransferBatch;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.Transport;
import dev.crescent.transfer.shm.ShmTransport;
import dev.crescent.transfer.tcp.TcpSettings;
import dev.crescent.transfer.tcp.TcpTransport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Initiator side of the transfer benchmark: drives a {@link TransferTargetMain} in another process over each
 * transport and block size with a fixed number of requests in flight, and prints GB/s and per-request latency.
 *
 * <p>Arguments: target segment name, target endpoint, target segment bytes, seconds per cell, in-flight depth.
 */
public final class TransferBenchMain {
    private static final long[] BLOCKS = {64 << 10, 256 << 10, 1 << 20, 4 << 20};

    private TransferBenchMain() {
    }

    public static void main(String[] args) throws Exception {
        String segment = args[0];
        PeerAddress target = PeerAddress.parse(args[1]);
        long targetBytes = Long.parseLong(args[2]);
        double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 2.0;
        int depth = args.length > 4 ? Integer.parseInt(args[4]) : 8;

        System.out.printf("%-5s %-5s %8s %9s %10s %10s%n", "path", "op", "block", "GB/s", "p50 us", "p99 us");
        for (String transport : List.of("tcp", "shm")) {
            String endpoint = transport.equals("tcp")
                    ? new PeerAddress(target.hostId(), target.tcp(), "").format()
                    : new PeerAddress(target.hostId(), "", target.shmFile()).format();
            TcpSettings defaults = TcpSettings.defaults();
            TcpSettings tcp = new TcpSettings(Integer.getInteger("connections", defaults.connectionsPerPeer()),
                    defaults.sliceBytes(), defaults.timeout(), defaults.maxAttempts(), defaults.blacklistFailures(),
                    defaults.blacklistWindow(), defaults.blacklistCooldown());
            Transport path = transport.equals("tcp") ? new TcpTransport("bench", tcp)
                    : new ShmTransport();
            try (TransferEngine engine = new TransferEngine(new RegisteredMemory(), List.of(path),
                    TransferObserver.NONE)) {
                // One pass over every cell first, so no cell is measured on a cold JIT.
                for (long block : BLOCKS) {
                    for (TransferOp op : TransferOp.values()) {
                        run(engine, segment, endpoint, targetBytes, block, op, seconds / 4, depth);
                    }
                }
                for (long block : BLOCKS) {
                    for (TransferOp op : TransferOp.values()) {
                        Result r = run(engine, segment, endpoint, targetBytes, block, op, seconds, depth);
                        System.out.printf("%-5s %-5s %8s %9.2f %10.1f %10.1f%n", transport, op.name().toLowerCase(),
                                (block >> 10) + "K", r.gbPerSecond, r.p50Micros, r.p99Micros);
                    }
                }
            }
        }
        System.out.printf("memcpy 1 thread 1M block: %.2f GB/s%n", memcpyGbPerSecond(1 << 20, seconds));
    }

    private record Result(double gbPerSecond, double p50Micros, double p99Micros) {
    }

    private static Result run(TransferEngine engine, String segment, String endpoint, long targetBytes, long block,
                              TransferOp op, double seconds, int depth) throws InterruptedException {
        long slots = Math.max(1, targetBytes / block);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffers = arena.allocate(block * depth, 4096);
            buffers.fill((byte) 7);
            // Warm-up, then the measured run.
            drive(engine, segment, endpoint, buffers, block, slots, op, seconds / 4, depth);
            return drive(engine, segment, endpoint, buffers, block, slots, op, seconds, depth);
        }
    }

    private static Result drive(TransferEngine engine, String segment, String endpoint, MemorySegment buffers,
                                long block, long slots, TransferOp op, double seconds, int depth)
            throws InterruptedException {
        BlockingQueue<long[]> done = new ArrayBlockingQueue<>(depth * 2);
        List<Long> latencies = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long issued = 0;
        long completed = 0;
        long started = System.nanoTime();
        for (int i = 0; i < depth; i++) {
            submit(engine, segment, endpoint, buffers, block, slots, op, i, issued++, done);
        }
        while (completed < issued) {
            long[] finished = done.take();
            completed++;
            latencies.add(finished[1]);
            if (finished[2] != 1) {
                throw new IllegalStateException("transfer failed during the benchmark");
            }
            if (System.nanoTime() < end) {
                submit(engine, segment, endpoint, buffers, block, slots, op, (int) finished[0], issued++, done);
            }
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        long[] sorted = latencies.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        return new Result(completed * block / elapsed / 1e9, sorted[sorted.length / 2] / 1e3,
                sorted[(int) Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] / 1e3);
    }

    private static void submit(TransferEngine engine, String segment, String endpoint, MemorySegment buffers,
                               long block, long slots, TransferOp op, int slot, long sequence,
                               BlockingQueue<long[]> done) {
        MemorySegment local = buffers.asSlice(slot * block, block);
        long remoteOffset = (sequence % slots) * block;
        long start = System.nanoTime();
        TransferBatch batch = engine.submit(List.of(new TransferRequest(op, local, segment, endpoint, remoteOffset)));
        batch.future().whenComplete((b, e) -> done.add(new long[] {slot, System.nanoTime() - start,
                b != null && b.status(0) == RequestStatus.COMPLETED ? 1 : 0}));
    }

    /** Single-thread copy bandwidth between two off-heap buffers: the shm path's ceiling. */
    private static double memcpyGbPerSecond(long block, double seconds) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment from = arena.allocate(256L << 20, 4096);
            MemorySegment to = arena.allocate(256L << 20, 4096);
            from.fill((byte) 1);
            to.fill((byte) 2);
            long slots = from.byteSize() / block;
            long copies = 0;
            long end = System.nanoTime() + (long) (seconds * 1e9);
            long started = System.nanoTime();
            while (System.nanoTime() < end) {
                long offset = (copies % slots) * block;
                MemorySegment.copy(from, offset, to, offset, block);
                copies++;
            }
            return copies * block / ((System.nanoTime() - started) / 1e9) / 1e9;
        }
    }
}
