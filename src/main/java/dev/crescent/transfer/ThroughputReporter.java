package dev.crescent.transfer;

import dev.crescent.common.Threads;
import org.jboss.logging.Logger;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Opt-in periodic log line: throughput over the last interval and a latency histogram (power-of-two
 * microsecond buckets) with p50/p99, for watching a node move data.
 */
public final class ThroughputReporter implements TransferObserver, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ThroughputReporter.class);
    private static final int BUCKETS = 40;

    private final LongAdder bytes = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final AtomicLongArray histogram = new AtomicLongArray(BUCKETS);
    private final ScheduledExecutorService timer = Threads.daemonScheduler("crescent-reporter");
    private long lastReportNanos = System.nanoTime();

    public ThroughputReporter(long intervalMillis) {
        timer.scheduleAtFixedRate(() -> LOG.info(report()), intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void finished(String transport, TransferOp op, long length, long nanos, RequestStatus status) {
        if (status == RequestStatus.COMPLETED) {
            bytes.add(length);
            histogram.incrementAndGet(bucketOf(nanos / 1000));
        } else {
            failures.increment();
        }
    }

    /** The line for the interval since the previous call; resets the counters. */
    public synchronized String report() {
        long now = System.nanoTime();
        double seconds = Math.max(1e-9, (now - lastReportNanos) / 1e9);
        lastReportNanos = now;
        long moved = bytes.sumThenReset();
        long failed = failures.sumThenReset();
        long[] counts = new long[BUCKETS];
        long total = 0;
        for (int i = 0; i < BUCKETS; i++) {
            counts[i] = histogram.getAndSet(i, 0);
            total += counts[i];
        }
        StringBuilder line = new StringBuilder(
                "transfer: %.1f MB/s, %d ok, %d failed".formatted(moved / seconds / 1e6, total, failed));
        if (total > 0) {
            line.append(", p50 <= ")
                    .append(upperBoundMicros(counts, total, 0.50))
                    .append(" us")
                    .append(", p99 <= ")
                    .append(upperBoundMicros(counts, total, 0.99))
                    .append(" us, histogram");
            for (int i = 0; i < BUCKETS; i++) {
                if (counts[i] > 0) {
                    line.append(" <").append(1L << (i + 1)).append("us:").append(counts[i]);
                }
            }
        }
        return line.toString();
    }

    private static int bucketOf(long micros) {
        return Math.min(BUCKETS - 1, 63 - Long.numberOfLeadingZeros(Math.max(1, micros)));
    }

    private static long upperBoundMicros(long[] counts, long total, double quantile) {
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= Math.ceil(total * quantile)) {
                return 1L << (i + 1);
            }
        }
        return 1L << BUCKETS;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
