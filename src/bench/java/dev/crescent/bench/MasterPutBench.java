package dev.crescent.bench;

import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.time.InstantSource;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * In-process PutStart + PutEnd pairs on fresh keys from 2 threads, 4 segments, one replica of a 256 KiB block:
 * the master's hot path (key validation, placement, allocation, index insert, state change). Target: 200k pairs/s
 * or more in total. A new master per iteration keeps the index size comparable between iterations.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 8, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xmx3g")
@Threads(2)
public class MasterPutBench {
    private static final long BLOCK = 256 << 10;

    private Master master;
    private final AtomicLong keys = new AtomicLong();

    @Setup(Level.Iteration)
    public void freshMaster() {
        master =
                new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), InstantSource.system());
        for (int i = 0; i < 4; i++) {
            // Offsets only: the master never touches the memory, so a 4 TiB segment costs nothing here.
            master.mountSegment("worker-" + i, "segment-" + i, 4L << 40, "");
        }
    }

    @Benchmark
    public void putStartThenPutEnd() {
        String key = "model/layer-" + keys.incrementAndGet();
        master.putStart("bench-client", key, BLOCK, 1, false);
        master.putEnd("bench-client", key);
    }
}
