package dev.crescent.bench;

import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.client.StoreClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.KeyResult;
import dev.crescent.transfer.tcp.TcpSettings;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import javax.net.ssl.SSLContext;

/**
 * One cell of the store benchmark, in its own process (writers and readers are separate processes, as with
 * Mooncake's stress benchmark): several threads drive one phase against Crescent through the Java client, over
 * TCP or the worker's shared memory, and it prints one table row. (bin/bench store drives Redis with its own C
 * client, redis-benchmark, in the same shape.)
 *
 * <p>Arguments: target (tcp | shm), address (host:port of the master), phase (put | get | exists | batch-get |
 * batch-put), value size in bytes, threads, seconds, keys in the key space, keys per batch. Puts overwrite a fixed
 * key space (upsert in place), gets read random keys of it; a batch put overwrites a run of keys of which no other
 * thread writes any at the same time.
 */
public final class StoreBenchMain {
    private static final double WARM_UP_LIMIT_S = 45;

    private StoreBenchMain() {}

    /** One thread's connection and buffers. */
    private interface Session extends AutoCloseable {
        void put(String key) throws IOException;

        void get(String key) throws IOException;

        void exists(List<String> keys) throws IOException;

        void batchGet(List<String> keys) throws IOException;

        void batchPut(List<String> keys) throws IOException;

        @Override
        default void close() throws IOException {}
    }

    public static void main(String[] args) throws Exception {
        String target = args[0];
        String address = args[1];
        String phase = args[2];
        int size = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        double seconds = Double.parseDouble(args[5]);
        int keys = Integer.parseInt(args[6]);
        int batch = Integer.parseInt(args[7]);
        String prefix = "bench/" + size + "/";
        TcpSettings tcp = TcpSettings.defaults();
        // Tunables to try other TCP shapes with (bin/bench passes BENCH_JVM_OPTS to the bench JVMs).
        tcp = new TcpSettings(
                Integer.getInteger("bench.tcp.connections", tcp.connectionsPerPeer()),
                Integer.getInteger("bench.tcp.slice-bytes", tcp.sliceBytes()),
                tcp.timeout(),
                tcp.maxAttempts(),
                tcp.blacklistFailures(),
                tcp.blacklistWindow(),
                tcp.blacklistCooldown());
        ClientOptions options = ClientOptions.master(address)
                .withNodeName("store-bench")
                .withSharedMemory(target.equals("shm"))
                .withTcp(tcp)
                .withInlineValues(Long.getLong("bench.inline-bytes", StoreClient.DEFAULT_INLINE_BYTES));
        SSLContext tls = BenchTls.context();
        CrescentClient crescent = CrescentClient.connect(tls == null ? options : options.withTls(tls));
        List<Session> sessions = new ArrayList<>();
        try {
            // Batch buffers only for the batch phases: 128 x 4 MiB per thread would not fit otherwise.
            int buffers = phase.equals("batch-get") ? batch : 0;
            IntFunction<Session> factory = t -> crescent(crescent, size, buffers);
            // One session per thread for the whole process: creating buffers (allocation, zeroing, random fill,
            // first-touch page faults) inside every timed window cost a visible share of a 4 MiB window.
            for (int t = 0; t < threads; t++) {
                sessions.add(factory.apply(t));
            }
            Runner runner = new Runner(sessions, phase, prefix, keys, batch, threads);
            if (phase.equals("put")) {
                new Runner(sessions, "fill", prefix, keys, batch, threads).run(Double.MAX_VALUE);
            }
            // The steady state of a long-running client: windows of max(2 s, the cell's length).
            WarmUp.untilSteady(
                    window -> {
                        Runner.Result warming = runner.run(window);
                        return warming.ops() / warming.seconds();
                    },
                    Math.max(2.0, seconds),
                    WARM_UP_LIMIT_S);
            CpuTimes before = CpuTimes.now();
            Runner.Result result = runner.run(seconds);
            CpuTimes after = CpuTimes.now();
            int perOp = phase.equals("put") || phase.equals("get") ? 1 : batch;
            double opsPerSecond = result.ops() * perOp / result.seconds();
            double gbPerSecond = phase.equals("exists") ? 0 : opsPerSecond * size / 1e9;
            System.out.printf(
                    "%-6s %-9s %8s %4d %12.0f %8.2f %9.1f %9.1f%n",
                    target,
                    phase,
                    human(size),
                    threads,
                    opsPerSecond,
                    gbPerSecond,
                    result.percentileMicros(0.50),
                    result.percentileMicros(0.99));
            after.report(before, result.ops());
        } finally {
            for (Session session : sessions) {
                session.close();
            }
            crescent.close();
        }
    }

    /**
     * With {@code -Dbench.server-pid=N}: CPU time of this process and of the server N, to print CPU per call of the
     * measured window on stderr, where A/B comparisons of one change read it. Without it, nothing.
     */
    private record CpuTimes(Duration client, Duration server) {
        private static final Optional<ProcessHandle> SERVER =
                Optional.ofNullable(Long.getLong("bench.server-pid")).flatMap(ProcessHandle::of);

        static CpuTimes now() {
            return new CpuTimes(
                    cpu(ProcessHandle.current()), SERVER.map(CpuTimes::cpu).orElse(Duration.ZERO));
        }

        private static Duration cpu(ProcessHandle process) {
            return process.info().totalCpuDuration().orElse(Duration.ZERO);
        }

        void report(CpuTimes before, long calls) {
            if (calls == 0 || SERVER.isEmpty()) {
                return;
            }
            System.err.printf(
                    "cpu per call: client %.1f us, server %.1f us%n",
                    client.minus(before.client).toNanos() / 1e3 / calls,
                    server.minus(before.server).toNanos() / 1e3 / calls);
        }
    }

    private static Session crescent(CrescentClient client, int size, int batch) {
        // Sessions of one process share these buffers' arena until the client closes: keep them few.
        MemorySegment value = client.allocate(size);
        byte[] random = new byte[size];
        new Random(size).nextBytes(random);
        value.copyFrom(MemorySegment.ofArray(random));
        MemorySegment target = client.allocate(size);
        List<MemorySegment> targets = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            targets.add(client.allocate(size));
        }
        return new Session() {
            @Override
            public void put(String key) {
                client.upsertFrom(key, value);
            }

            @Override
            public void get(String key) {
                if (client.getInto(key, target) != size) {
                    throw new StoreException(ErrorCode.INTERNAL_ERROR, key + " has the wrong size");
                }
            }

            @Override
            public void exists(List<String> keys) {
                for (KeyResult<Boolean> found : client.batchExists(keys)) {
                    if (!Boolean.TRUE.equals(found.value())) {
                        throw new StoreException(ErrorCode.OBJECT_NOT_FOUND, found.key() + " is missing");
                    }
                }
            }

            @Override
            public void batchPut(List<String> keys) {
                for (KeyResult<Void> written : client.batchUpsertFrom(keys, Collections.nCopies(keys.size(), value))) {
                    if (!written.ok()) {
                        throw written.error();
                    }
                }
            }

            @Override
            public void batchGet(List<String> keys) {
                for (KeyResult<Long> read : client.batchGetInto(keys, targets.subList(0, keys.size()))) {
                    if (!read.ok()) {
                        throw read.error();
                    }
                }
            }
        };
    }

    /** Runs the phase on every thread for a while, collecting operation latencies. */
    private record Runner(List<Session> sessions, String phase, String prefix, int keys, int batch, int threads) {

        record Result(long ops, double seconds, long[] latencies) {
            double percentileMicros(double p) {
                return latencies.length == 0
                        ? 0
                        : latencies[(int) Math.min(latencies.length - 1, p * latencies.length)] / 1e3;
            }
        }

        Result run(double seconds) throws InterruptedException {
            AtomicLong ops = new AtomicLong();
            List<long[]> latencies = new ArrayList<>();
            int[] counts = new int[threads];
            List<Thread> workers = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                latencies.add(new long[1 << 20]);
            }
            long started = System.nanoTime();
            long end = seconds >= Long.MAX_VALUE / 1e9 ? Long.MAX_VALUE : started + (long) (seconds * 1e9);
            for (int t = 0; t < threads; t++) {
                int thread = t;
                long[] mine = latencies.get(t);
                workers.add(Thread.ofPlatform().start(() -> {
                    try {
                        Session session = sessions.get(thread);
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        for (int i = 0; System.nanoTime() < end; i++) {
                            if (phase.equals("fill") && thread + i * threads >= keys) {
                                break; // every key written once: the readers of the next process find them all
                            }
                            long before = System.nanoTime();
                            step(session, random, thread + i * threads);
                            if (counts[thread] < mine.length) {
                                mine[counts[thread]++] = System.nanoTime() - before;
                            }
                            ops.incrementAndGet();
                        }
                    } catch (Exception e) {
                        synchronized (failures) {
                            failures.add(e);
                        }
                    }
                }));
            }
            for (Thread worker : workers) {
                worker.join();
            }
            double elapsed = (System.nanoTime() - started) / 1e9;
            if (!failures.isEmpty()) {
                throw new IllegalStateException(phase + " failed: " + failures.getFirst(), failures.getFirst());
            }
            long[] all = new long[Arrays.stream(counts).sum()];
            for (int t = 0, at = 0; t < threads; t++) {
                System.arraycopy(latencies.get(t), 0, all, at, counts[t]);
                at += counts[t];
            }
            Arrays.sort(all);
            return new Result(ops.get(), elapsed, all);
        }

        private void step(Session session, ThreadLocalRandom random, int sequence) throws IOException {
            switch (phase) {
                case "put", "fill" -> session.put(prefix + Math.floorMod(sequence, keys));
                case "get" -> session.get(prefix + random.nextInt(keys));
                case "exists" -> session.exists(run(random.nextInt(keys - batch + 1)));
                case "batch-get" -> session.batchGet(run(random.nextInt(keys - batch + 1)));
                // Runs of whole batches, each thread its own (thread t writes runs t, t + threads, ...).
                case "batch-put" -> session.batchPut(run(Math.floorMod(sequence, keys / batch) * batch));
                default -> throw new IllegalArgumentException("unknown phase " + phase);
            }
        }

        private List<String> run(int first) {
            List<String> names = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++) {
                names.add(prefix + (first + i));
            }
            return names;
        }
    }

    private static String human(long bytes) {
        return bytes >= 1 << 20 ? (bytes >> 20) + "MiB" : (bytes >> 10) + "KiB";
    }
}
