package dev.crescent.transfer.rdma;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A piece of this process's memory registered with every device: chunked by {@link MemoryRegions#plan}, one memory
 * region per chunk and device. Gives local keys for outgoing work requests and remote keys for the handshake.
 */
public final class LocalRegistration implements AutoCloseable {
    private final RdmaRuntime runtime;
    private final MemorySegment memory;
    private final Map<String, List<RdmaShim.Region>> regions = new LinkedHashMap<>();
    private final Map<String, List<MemoryRegions.Chunk>> chunks = new LinkedHashMap<>();

    LocalRegistration(RdmaRuntime runtime, MemorySegment memory) {
        this.runtime = runtime;
        this.memory = memory;
        try {
            for (RdmaDevice device : runtime.devices.values()) {
                List<MemoryRegions.Chunk> plan =
                        MemoryRegions.plan(memory.byteSize(), device.maxRegionBytes, runtime.settings.hugePages());
                List<RdmaShim.Region> registered = new ArrayList<>(plan.size());
                regions.put(device.name, registered);
                chunks.put(device.name, plan);
                for (MemoryRegions.Chunk chunk : plan) {
                    registered.add(runtime.shim.registerMemory(
                            device.protectionDomain,
                            memory.asSlice(chunk.offset(), chunk.length()),
                            RdmaShim.ACCESS_ALL));
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    boolean contains(MemorySegment part) {
        long start = part.address() - memory.address();
        return start >= 0 && start <= memory.byteSize() - part.byteSize();
    }

    public long baseAddress() {
        return memory.address();
    }

    /** Chunk boundaries of this memory on {@code device}. */
    List<MemoryRegions.Chunk> chunks(String device) {
        return chunks.get(device);
    }

    int localKey(String device, int chunk) {
        return regions.get(device).get(chunk).lkey();
    }

    /** What the serving side tells a peer connecting over {@code device}: each chunk's range and remote key. */
    List<RdmaHandshake.RemoteRegion> remoteRegions(String device) {
        List<RdmaHandshake.RemoteRegion> out = new ArrayList<>();
        List<MemoryRegions.Chunk> plan = chunks.get(device);
        for (int i = 0; i < plan.size(); i++) {
            out.add(new RdmaHandshake.RemoteRegion(
                    plan.get(i).offset(),
                    plan.get(i).length(),
                    regions.get(device).get(i).rkey()));
        }
        return out;
    }

    /** Offset of {@code part} within this registration. */
    long offsetOf(MemorySegment part) {
        return part.address() - memory.address();
    }

    @Override
    public void close() {
        regions.forEach((device, registered) -> registered.forEach(r -> runtime.shim.deregisterMemory(r.handle())));
        regions.clear();
        runtime.forget(this);
    }
}
