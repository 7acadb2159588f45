package dev.crescent.bench;

import dev.crescent.alloc.Allocation;
import dev.crescent.alloc.OffsetAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One allocate + free pair of the segment allocator, in a segment already holding thousands of ranges of mixed
 * sizes (the steady state of a busy segment), reported as a latency distribution: the target is a median of
 * 200 ns or less.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AllocatorBench {
    /** KV-cache block sizes: a small block, a typical one, a large one. */
    @Param({"16384", "262144", "2097152"})
    public long blockBytes;

    private OffsetAllocator allocator;

    @Setup
    public void fill() {
        allocator = new OffsetAllocator(64L << 30, 64);
        Random random = new Random(1);
        // Half-fill with mixed sizes, then free every other range: a fragmented, realistic free list.
        java.util.List<Allocation> held = new java.util.ArrayList<>();
        while (allocator.usedBytes() < allocator.capacityBytes() / 2) {
            held.add(allocator.allocate(4096 + random.nextInt(4 << 20)));
        }
        for (int i = 0; i < held.size(); i += 2) {
            allocator.free(held.get(i));
        }
    }

    @Benchmark
    public Allocation allocateAndFree() {
        Allocation range = allocator.allocate(blockBytes);
        allocator.free(range);
        return range;
    }
}
