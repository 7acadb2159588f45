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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Initiator side of the transfer benchmark: drives a {@link TransferTargetMain} in another process over each
 * transport and block size with a fixed number of requests in flight, and prints GB/s and per-request latency.
 *
 * <p>Arguments: target segment name, target endpoint, target segment bytes, seconds per cell, in-flight depth.
 */
public final class TransferBenchMain {
    /** Block sizes measured; {@code -Dblocks=64,1024} (KiB) narrows them. */
    private static final long[] BLOCKS = Arrays.stream(
                    System.getProperty("blocks", "64,256,1024,4096").split(","))
            .mapToLong(kib -> Long.parseLong(kib.trim()) << 10)
            .toArray();

    /** Ops measured; {@code -Dops=write} narrows them. */
    private static final List<TransferOp> OPS = Arrays.stream(
                    System.getProperty("ops", "read,write").split(","))
            .map(op -> TransferOp.valueOf(op.trim().toUpperCase()))
            .toList();

    /**
     * {@code -Dbatch=16}: one batch of that many requests in flight at a time (each its own block), submitted and
     * waited for as the Python engine's synchronous batch calls are, so the two compare; latency is per batch.
     * 0 (the default): single requests, {@code depth} in flight.
     */
    private static final int BATCH = Integer.getInteger("batch", 0);

    private TransferBenchMain() {}

    public static void main(String[] args) throws Exception {
        String segment = args[0];
        PeerAddress target = PeerAddress.parse(args[1]);
        long targetBytes = Long.parseLong(args[2]);
        double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 2.0;
        int depth = args.length > 4 ? Integer.parseInt(args[4]) : 8;

        System.out.printf("%-5s %-5s %8s %9s %10s %10s%n", "path", "op", "block", "GB/s", "p50 us", "p99 us");
        for (String transport : System.getProperty("paths", "tcp,shm").split(",")) {
            String endpoint = transport.equals("tcp")
                    ? new PeerAddress(target.hostId(), target.tcp(), "").format()
                    : new PeerAddress(target.hostId(), "", target.shmFile()).format();
            TcpSettings defaults = TcpSettings.defaults();
            TcpSettings tcp = new TcpSettings(
                    Integer.getInteger("connections", defaults.connectionsPerPeer()),
                    defaults.sliceBytes(),
                    defaults.timeout(),
                    defaults.maxAttempts(),
                    defaults.blacklistFailures(),
                    defaults.blacklistWindow(),
                    defaults.blacklistCooldown());
            Transport path = transport.equals("tcp") ? new TcpTransport("bench", tcp) : new ShmTransport();
            try (TransferEngine engine =
                    new TransferEngine(new RegisteredMemory(), List.of(path), TransferObserver.NONE)) {
                // One pass over every cell first, so no cell is measured on a cold JIT.
                for (long block : BLOCKS) {
                    for (TransferOp op : TransferOp.values()) {
                        run(engine, segment, endpoint, targetBytes, block, op, seconds / 4, depth);
                    }
                }
                for (long block : BLOCKS) {
                    for (TransferOp op : OPS) {
                        Result r = run(engine, segment, endpoint, targetBytes, block, op, seconds, depth);
                        System.out.printf(
                                "%-5s %-5s %8s %9.2f %10.1f %10.1f%n",
                                transport,
                                op.name().toLowerCase(),
                                (block >> 10) + "K",
                                r.gbPerSecond,
                                r.p50Micros,
                                r.p99Micros);
                    }
                }
            }
        }
        System.out.printf("memcpy 1 thread 1M block: %.2f GB/s%n", memcpyGbPerSecond(1 << 20, seconds));
    }

    private record Result(double gbPerSecond, double p50Micros, double p99Micros) {
        /** GB/s of {@code bytes} moved in {@code seconds}, and the p50/p99 of the first {@code count} latencies. */
        static Result of(long bytes, double seconds, long[] latencies, int count) {
            long[] sorted = Arrays.copyOf(latencies, count);
            Arrays.sort(sorted);
            return new Result(
                    bytes / seconds / 1e9,
                    sorted[sorted.length / 2] / 1e3,
                    sorted[(int) Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] / 1e3);
        }
    }

    private static Result run(
            TransferEngine engine,
            String segment,
            String endpoint,
            long targetBytes,
            long block,
            TransferOp op,
            double seconds,
            int depth)
            throws InterruptedException {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffers = arena.allocate(block * Math.max(depth, BATCH), 4096);
            buffers.fill((byte) 7);
            Cell cell = new Cell(engine, segment, endpoint, buffers, block, Math.max(1, targetBytes / block), op);
            // Warm-up, then the measured run.
            if (BATCH > 0) {
                driveBatches(cell, seconds / 4);
                return driveBatches(cell, seconds);
            }
            drive(cell, seconds / 4, depth);
            return drive(cell, seconds, depth);
        }
    }

    /**
     * What one cell moves: {@code block}-byte requests of {@code op} between slices of {@code buffers} and
     * consecutive slots (of {@code slots}) of the target's segment.
     */
    private record Cell(
            TransferEngine engine,
            String segment,
            String endpoint,
            MemorySegment buffers,
            long block,
            long slots,
            TransferOp op) {
        /** The request for local slice {@code slice} and the {@code sequence}-th remote slot (wrapping). */
        TransferRequest request(long slice, long sequence) {
            return new TransferRequest(
                    op, buffers.asSlice(slice * block, block), segment, endpoint, (sequence % slots) * block);
        }
    }

    /** Closed loop of synchronous batches of {@link #BATCH} blocks to consecutive slots of the target. */
    private static Result driveBatches(Cell cell, double seconds) {
        long[] latencies = new long[1 << 20];
        int batches = 0;
        long sequence = 0;
        long started = System.nanoTime();
        long end = started + (long) (seconds * 1e9);
        for (long now = started; now < end; now = System.nanoTime()) {
            List<TransferRequest> requests = new ArrayList<>(BATCH);
            for (int i = 0; i < BATCH; i++) {
                requests.add(cell.request(i, sequence++));
            }
            cell.engine().execute(requests);
            latencies[batches++ % latencies.length] = System.nanoTime() - now;
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        return Result.of(batches * BATCH * cell.block(), elapsed, latencies, Math.min(batches, latencies.length));
    }

    /**
     * Closed loop at a fixed depth: each completion resubmits its slot from the completion callback, so no extra
     * thread sits between a finished request and the next one (a trampoline keeps transports that complete inside
     * submit, like shm, from recursing).
     */
    private static Result drive(Cell cell, double seconds, int depth) throws InterruptedException {
        Loop loop = new Loop(cell, depth);
        // The window opens only now: building the loop (its latency array) may take a GC pause, which must not
        // eat into a short warm-up window and leave it with no request at all.
        long started = System.nanoTime();
        loop.endNanos = started + (long) (seconds * 1e9);
        for (int slot = 0; slot < depth; slot++) {
            loop.resubmit(slot);
        }
        loop.finished.await();
        if (loop.failed.get()) {
            throw new IllegalStateException("transfer failed during the benchmark: " + loop.failure, loop.failure);
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        if (loop.completed.get() == 0) {
            throw new IllegalStateException(
                    "no request completed in " + elapsed + " s (" + cell.op() + " of " + cell.block() + " bytes)");
        }
        int count = Math.min(loop.completed.get(), loop.latencies.length);
        return Result.of(loop.completed.get() * cell.block(), elapsed, loop.latencies, count);
    }

    private static final class Loop {
        private static final ThreadLocal<ArrayDeque<Integer>> TRAMPOLINE = new ThreadLocal<>();

        final long[] latencies = new long[1 << 22];
        final AtomicInteger completed = new AtomicInteger();
        final AtomicBoolean failed = new AtomicBoolean();
        volatile Throwable failure;
        final CountDownLatch finished;
        private final AtomicLong sequence = new AtomicLong();
        private final Cell cell;
        /** Set before the first submission; read by the threads that resubmit. */
        private volatile long endNanos;

        Loop(Cell cell, int depth) {
            this.cell = cell;
            this.finished = new CountDownLatch(depth);
        }

        void resubmit(int slot) {
            ArrayDeque<Integer> queued = TRAMPOLINE.get();
            if (queued != null) {
                queued.add(slot); // inside a submit on this thread: the outer call runs it
                return;
            }
            queued = new ArrayDeque<>();
            TRAMPOLINE.set(queued);
            try {
                for (Integer next = slot; next != null; next = queued.poll()) {
                    submit(next);
                }
            } finally {
                TRAMPOLINE.remove();
            }
        }

        private void submit(int slot) {
            if (System.nanoTime() >= endNanos || failed.get()) {
                finished.countDown();
                return;
            }
            long start = System.nanoTime();
            TransferBatch batch = cell.engine().submit(List.of(cell.request(slot, sequence.getAndIncrement())));
            batch.future().whenComplete((b, e) -> {
                int n = completed.getAndIncrement();
                if (n < latencies.length) {
                    latencies[n] = System.nanoTime() - start;
                }
                if (b == null || b.status(0) != RequestStatus.COMPLETED) {
                    if (failed.compareAndSet(false, true)) {
                        failure = b == null ? e : TransferEngine.failureOf(b, 0);
                    }
                }
                resubmit(slot);
            });
        }
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
