package dev.crescent.bench;

import dev.crescent.client.RemoteMasterClient;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.MasterClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Drives a master through the Java client's remote master client (wire protocol) with PutStart+PutEnd pairs
 * (metadata only: no bytes move) from several threads and prints acknowledged PutEnds per second. Against a
 * master over etcd every PutEnd waits for its op-log entry, so this is the op-log's throughput as callers see it.
 *
 * <p>Arguments: master host:port, threads, seconds (measured after a warm-up in 10 s windows until the rate stops
 * rising, at most {@link #WARM_UP_LIMIT_S}: see {@link WarmUp}). Over TLS with {@code -Dbench.tls} (see
 * {@link BenchTls}).
 */
public final class MasterLoadMain {
    private static final double WARM_UP_WINDOW_S = 10;
    /**
     * On 2 cores an HA leader over etcd (with a standby, a worker, etcd and this client) rose for 40-60 s, a master
     * without etcd for 30-40 s (bin/bench ha 30 8, three runs).
     */
    private static final double WARM_UP_LIMIT_S = 150;

    private MasterLoadMain() {}

    public static void main(String[] args) throws Exception {
        String address = args[0];
        int threads = Integer.parseInt(args[1]);
        double seconds = Double.parseDouble(args[2]);
        Duration timeout = Duration.ofSeconds(10);
        try (MasterClient master = new RemoteMasterClient(
                () -> address, "bench", timeout, timeout.multipliedBy(3), true, BenchTls.context())) {
            List<String> rates = new ArrayList<>();
            double warming = WarmUp.untilSteady(
                    window -> {
                        double rate = run(master, threads, window, false);
                        rates.add(String.format("%.0f", rate));
                        return rate;
                    },
                    WARM_UP_WINDOW_S,
                    WARM_UP_LIMIT_S);
            System.out.printf("warm-up: %.0f s, pairs/s per window: %s%n", warming, String.join(" ", rates));
            run(master, threads, seconds, true);
        }
    }

    /** @return acknowledged pairs per second */
    private static double run(MasterClient master, int threads, double seconds, boolean report)
            throws InterruptedException {
        LongAdder ended = new LongAdder();
        LongAdder failed = new LongAdder();
        AtomicLong keys = new AtomicLong();
        String run = Long.toString(System.nanoTime(), 36);
        long end = System.nanoTime() + (long) (seconds * 1e9);
        List<Thread> workers = new ArrayList<>();
        {
            long started = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                String client = "bench-" + run + "-" + t;
                workers.add(Thread.ofPlatform().start(() -> {
                    while (System.nanoTime() < end) {
                        String key = "bench/" + run + "/" + keys.incrementAndGet();
                        try {
                            master.putStart(client, key, 4096, 1, false);
                            master.putEnd(client, key);
                            ended.increment();
                        } catch (StoreException e) {
                            failed.increment();
                        }
                    }
                }));
            }
            for (Thread worker : workers) {
                worker.join();
            }
            double elapsed = (System.nanoTime() - started) / 1e9;
            if (report) {
                System.out.printf(
                        "%d threads: %.0f PutStart+PutEnd pairs/s (%d acknowledged, %d failed, %.1f s)%n",
                        threads, ended.sum() / elapsed, ended.sum(), failed.sum(), elapsed);
            }
            return ended.sum() / elapsed;
        }
    }
}
