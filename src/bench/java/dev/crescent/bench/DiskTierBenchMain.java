package dev.crescent.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.client.ClientOptions;
import dev.crescent.client.CrescentClient;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The disk tier's figures against one standalone Crescent (bin/bench disk runs it against a node with a disk tier
 * and one without, same DRAM). Arguments: master host:port, value size, threads, seconds per timed phase, DRAM
 * bytes of the node, label. Phases, one row each:
 * <ul>
 *   <li>{@code fill}: put 4x DRAM of values, as fast as the threads go; put GB/s, and the disk tier's write rate
 *       (bytes moved to disk over the time from the first put until the mover is idle), objects dropped;
 *   <li>{@code disk-get}: gets of keys whose replica is on disk (found through {@code /v1/keys}); GB/s;
 *   <li>{@code mixed}: a working set of 2x DRAM read uniformly at random, a miss put again (as an engine recomputes
 *       KV it cannot find); hit ratio and GB/s of hits.
 * </ul>
 */
public final class DiskTierBenchMain {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private DiskTierBenchMain() {}

    /** What every phase runs with: the client, the node's address, and the cell's shape. */
    private record Run(CrescentClient client, String address, String label, int size, int threads, double seconds) {}

    public static void main(String[] args) throws Exception {
        String address = args[0];
        int size = Integer.parseInt(args[1]);
        long dram = Long.parseLong(args[4]);
        String prefix = "tier/" + size + "/";
        try (CrescentClient client = CrescentClient.connect(
                ClientOptions.master(address).withNodeName("disk-bench").withSharedMemory(false))) {
            Run run = new Run(client, address, args[5], size, Integer.parseInt(args[2]), Double.parseDouble(args[3]));
            int fillKeys = (int) (4 * dram / size);
            fill(run, prefix, fillKeys);
            diskGets(run, prefix, fillKeys);
            mixed(run, "mixed/" + size + "/", (int) (2 * dram / size));
        }
    }

    private static void fill(Run run, String prefix, int keys) throws Exception {
        CrescentClient client = run.client();
        String address = run.address();
        int size = run.size();
        JsonNode before = stats(address);
        AtomicInteger next = new AtomicInteger();
        long started = System.nanoTime();
        parallel(run.threads(), () -> {
            MemorySegment value = filled(client, size);
            for (int k = next.getAndIncrement(); k < keys; k = next.getAndIncrement()) {
                client.upsertFrom(prefix + k, value);
            }
        });
        double putSeconds = (System.nanoTime() - started) / 1e9;
        // The mover goes on after the last put: the tier's write rate counts until its last move.
        long moved = moved(before, stats(address));
        double moveSeconds = putSeconds;
        for (int idle = 0; idle < 10; idle++) {
            Thread.sleep(200);
            long now = moved(before, stats(address));
            if (now != moved) {
                moved = now;
                moveSeconds = (System.nanoTime() - started) / 1e9;
                idle = 0;
            }
        }
        JsonNode after = stats(address);
        row(
                run,
                "fill",
                (double) keys * size / putSeconds / 1e9,
                String.format(
                        "moved to disk %.2f GB/s (%d objects), dropped %d",
                        moved * (double) size / moveSeconds / 1e9,
                        moved,
                        after.path("evictedObjects").asLong()
                                - before.path("evictedObjects").asLong()));
    }

    private static long moved(JsonNode before, JsonNode after) {
        return after.path("offloadedObjects").asLong()
                - before.path("offloadedObjects").asLong();
    }

    private static void diskGets(Run run, String prefix, int keys) throws Exception {
        CrescentClient client = run.client();
        String address = run.address();
        int size = run.size();
        List<String> onDisk = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            JsonNode info = get(address, "/v1/keys/" + prefix + k);
            if (info != null
                    && info.path("replicas").path(0).path("segment").asText().endsWith("-disk")) {
                onDisk.add(prefix + k);
            }
        }
        if (onDisk.isEmpty()) {
            row(run, "disk-get", 0, "no object on disk");
            return;
        }
        AtomicLong bytes = new AtomicLong();
        AtomicInteger next = new AtomicInteger();
        long end = System.nanoTime() + (long) (run.seconds() * 1e9);
        long started = System.nanoTime();
        parallel(run.threads(), () -> {
            MemorySegment into = client.allocate(size);
            // Each key once (a read promotes it to DRAM when there is room): the reads are of disk replicas.
            for (int i = next.getAndIncrement();
                    i < onDisk.size() && System.nanoTime() < end;
                    i = next.getAndIncrement()) {
                bytes.addAndGet(client.getInto(onDisk.get(i), into));
            }
        });
        double elapsed = (System.nanoTime() - started) / 1e9;
        row(
                run,
                "disk-get",
                bytes.get() / elapsed / 1e9,
                String.format("%d of %d keys on disk read once", Math.min(next.get(), onDisk.size()), onDisk.size()));
    }

    private static void mixed(Run run, String prefix, int keys) throws Exception {
        CrescentClient client = run.client();
        String address = run.address();
        int size = run.size();
        AtomicInteger next = new AtomicInteger();
        parallel(run.threads(), () -> {
            MemorySegment value = filled(client, size);
            for (int k = next.getAndIncrement(); k < keys; k = next.getAndIncrement()) {
                client.upsertFrom(prefix + k, value);
            }
        });
        Thread.sleep(3000); // the mover settles
        AtomicLong hits = new AtomicLong();
        AtomicLong misses = new AtomicLong();
        long end = System.nanoTime() + (long) (run.seconds() * 1e9);
        long started = System.nanoTime();
        parallel(run.threads(), () -> {
            MemorySegment value = filled(client, size);
            MemorySegment into = client.allocate(size);
            while (System.nanoTime() < end) {
                String key = prefix + ThreadLocalRandom.current().nextInt(keys);
                try {
                    client.getInto(key, into);
                    hits.incrementAndGet();
                } catch (StoreException e) {
                    if (e.code() != ErrorCode.OBJECT_NOT_FOUND && e.code() != ErrorCode.REPLICA_IS_NOT_READY) {
                        throw e;
                    }
                    misses.incrementAndGet();
                    try {
                        client.upsertFrom(key, value); // recomputed
                    } catch (StoreException racing) {
                        // another thread is putting the same key back
                    }
                }
            }
        });
        double elapsed = (System.nanoTime() - started) / 1e9;
        long total = hits.get() + misses.get();
        row(
                run,
                "mixed",
                hits.get() * (double) size / elapsed / 1e9,
                String.format(
                        "hit ratio %.3f (%d gets; working set %d MiB)",
                        total == 0 ? 0 : (double) hits.get() / total, total, (long) keys * size >> 20));
    }

    private static MemorySegment filled(CrescentClient client, int size) {
        MemorySegment value = client.allocate(size);
        byte[] random = new byte[size];
        new Random(size).nextBytes(random);
        value.copyFrom(MemorySegment.ofArray(random));
        return value;
    }

    private interface Work {
        void run() throws Exception;
    }

    private static void parallel(int threads, Work work) throws Exception {
        List<Thread> running = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            running.add(Thread.ofPlatform().start(() -> {
                try {
                    work.run();
                } catch (Exception | Error e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            }));
        }
        for (Thread thread : running) {
            thread.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a bench thread failed", failures.getFirst());
        }
    }

    private static JsonNode stats(String address) throws IOException, InterruptedException {
        return get(address, "/v1/cluster").path("stats");
    }

    private static JsonNode get(String address, String path) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://" + address + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
    }

    private static void row(Run run, String phase, double gbPerSecond, String note) {
        System.out.printf(
                "%-9s %-9s %6d KiB %4d %8.2f  %s%n",
                run.label(), phase, run.size() >> 10, run.threads(), gbPerSecond, note);
    }
}
