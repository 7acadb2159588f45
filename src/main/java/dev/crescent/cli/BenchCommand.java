package dev.crescent.cli;

import dev.crescent.client.CrescentClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code crescent bench}: puts then gets a number of objects from several threads through the Java client, with
 * a progress bar, and prints a summary table (ops/s, GB/s, p50/p99 latency). The objects are removed afterwards.
 */
@Command(name = "bench", description = "Measure put/get throughput and latency against the cluster.")
final class BenchCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    CrescentCli cli;

    @Option(names = "--size", defaultValue = "1048576", description = "value size in bytes (default ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--count", defaultValue = "200", description = "objects (default ${DEFAULT-VALUE})")
    int count;

    @Option(names = "--threads", defaultValue = "4", description = "threads (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--prefix", defaultValue = "bench/cli/", description = "key prefix (default ${DEFAULT-VALUE})")
    String prefix;

    private record Phase(String name, double seconds, long[] latencies) {}

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = cli.spec.commandLine().getOut();
        try (CrescentClient client = cli.connect()) {
            List<Phase> phases = new ArrayList<>();
            phases.add(run("put", client, out, (session, key) -> client.putFrom(key, session.value)));
            phases.add(run("get", client, out, (session, key) -> client.getInto(key, session.target)));
            for (int i = 0; i < count; i++) {
                client.remove(prefix + i, true);
            }
            out.printf("%n%-5s %8s %10s %10s %10s %10s%n", "op", "objects", "ops/s", "GB/s", "p50 ms", "p99 ms");
            for (Phase phase : phases) {
                out.printf(
                        "%-5s %8d %10.0f %10.3f %10.2f %10.2f%n",
                        phase.name(),
                        count,
                        count / phase.seconds(),
                        (double) count * size / phase.seconds() / 1e9,
                        percentile(phase.latencies(), 0.50),
                        percentile(phase.latencies(), 0.99));
            }
        }
        return 0;
    }

    private static final class Session {
        final MemorySegment value;
        final MemorySegment target;

        Session(CrescentClient client, int size) {
            value = client.allocate(size).fill((byte) 0x5a);
            target = client.allocate(size);
        }
    }

    private interface Op {
        void run(Session session, String key);
    }

    private Phase run(String name, CrescentClient client, PrintWriter out, Op op) throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        AtomicLong done = new AtomicLong();
        long[] latencies = new long[count];
        List<Throwable> failures = new ArrayList<>();
        long started = System.nanoTime();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                Session session = new Session(client, size);
                for (int i = next.getAndIncrement(); i < count && failures.isEmpty(); i = next.getAndIncrement()) {
                    long before = System.nanoTime();
                    try {
                        op.run(session, prefix + i);
                    } catch (RuntimeException e) {
                        synchronized (failures) {
                            failures.add(e);
                        }
                        return;
                    }
                    latencies[i] = System.nanoTime() - before;
                    done.incrementAndGet();
                }
            }));
        }
        while (workers.stream().anyMatch(Thread::isAlive)) {
            progress(out, name, done.get(), started);
            Thread.sleep(100);
        }
        progress(out, name, done.get(), started);
        out.println();
        if (!failures.isEmpty()) {
            throw (RuntimeException) failures.getFirst();
        }
        return new Phase(name, (System.nanoTime() - started) / 1e9, latencies);
    }

    private void progress(PrintWriter out, String name, long done, long started) {
        int width = 40;
        int filled = (int) (width * done / Math.max(1, count));
        double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
        out.printf(
                "\r%-4s [%s%s] %d/%d  %.2f GB/s",
                name,
                "#".repeat(filled),
                " ".repeat(width - filled),
                done,
                count,
                done * (double) size / seconds / 1e9);
        out.flush();
    }

    private static double percentile(long[] nanos, double p) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, p * sorted.length)] / 1e6;
    }
}
