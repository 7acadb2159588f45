package dev.crescent.bench;

import dev.crescent.master.InlineValues;
import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.VersionTable;
import dev.crescent.transfer.VersionTables;
import dev.crescent.transfer.local.LocalTransport;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The master's own CPU for one small upsert (issue 20): what a standalone master does on its event loop for a 4 KiB
 * put that carries its bytes, over 1024 keys that already exist (as {@code bin/bench store} upserts them), with a
 * version table as a same-host segment has. No sockets: on a noisy host the network's cost hides a microsecond won
 * or lost here, so changes to the put path are measured with this and confirmed with {@code bin/bench store}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 6, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
@Threads(1)
public class InlinePutBench {
    private static final int KEYS = 1024;
    private static final long SEGMENT_BYTES = 64L << 20;

    private final Arena arena = Arena.ofShared();
    private final String[] keys = new String[KEYS];
    private TransferEngine engine;
    private InlineValues inline;
    private MemorySegment value;
    private int next;

    @Setup(Level.Trial)
    public void standaloneMaster() {
        Master master =
                new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), InstantSource.system());
        RegisteredMemory memory = new RegisteredMemory();
        engine = new TransferEngine(memory, List.of(new LocalTransport(memory)), TransferObserver.NONE);
        engine.registerLocal("segment", arena.allocate(SEGMENT_BYTES), "");
        VersionTable table =
                VersionTable.format(arena.allocate(VersionTable.fileBytes(SEGMENT_BYTES)), SEGMENT_BYTES, 1);
        master.attachVersionTables(new VersionTables() {
            @Override
            public VersionTable open(String segment, String endpoint, long capacity) {
                return table;
            }

            @Override
            public void close(String segment) {}
        });
        master.mountSegment("worker", "segment", SEGMENT_BYTES, "");
        inline = new InlineValues(master, engine, 64 << 10);
        value = arena.allocate(4096);
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "bench/key-" + i;
            upsert(keys[i]);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        engine.close();
        arena.close();
    }

    @Benchmark
    public Object upsert4KiB() {
        next = (next + 1) & (KEYS - 1);
        return upsert(keys[next]);
    }

    private Object upsert(String key) {
        return inline.putStart("bench-client", key, value, ReplicaConfig.DEFAULT, true, null)
                .join();
    }
}
