package dev.crescent.bench;

import dev.crescent.alloc.Allocation;
import dev.crescent.alloc.OffsetAllocator;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Utilisation after churn: a segment is filled with blocks of one size (as an inference engine stores KV-cache
 * blocks), then blocks are freed and stored again at random for many rounds; at the end it is filled until an
 * allocation fails. Prints used / capacity at that point (target: 95 % or more), and the same for mixed sizes.
 */
public final class AllocatorChurnMain {
    private AllocatorChurnMain() {}

    public static void main(String[] args) {
        long capacity = 1L << 30;
        System.out.printf("%-22s %12s %12s %14s%n", "block size", "churn ops", "utilisation", "fragmentation");
        for (long block : new long[] {16 << 10, 64 << 10, 256 << 10, 1 << 20, (2 << 20) + 4096}) {
            report(humanBytes(block), capacity, random -> block);
        }
        report("mixed 4K-4M", capacity, random -> 4096 + random.nextInt(4 << 20));
    }

    private interface Sizes {
        long next(Random random);
    }

    private static void report(String label, long capacity, Sizes sizes) {
        OffsetAllocator allocator = new OffsetAllocator(capacity, 64);
        Random random = new Random(42);
        List<Allocation> held = new ArrayList<>();
        fill(allocator, held, sizes, random);
        int churn = 200_000;
        for (int i = 0; i < churn; i++) {
            // Free a random block and store a new one (several when freeing left room), like an LRU cache.
            allocator.free(held.remove(random.nextInt(held.size())));
            Allocation next = allocator.allocate(sizes.next(random));
            if (next != null) {
                held.add(next);
            }
        }
        fill(allocator, held, sizes, random);
        allocator.checkInvariants();
        System.out.printf(
                "%-22s %12d %11.2f%% %14.3f%n",
                label, churn, 100.0 * allocator.usedBytes() / capacity, allocator.fragmentation());
    }

    /** Allocates until the first failure. */
    private static void fill(OffsetAllocator allocator, List<Allocation> held, Sizes sizes, Random random) {
        for (Allocation next = allocator.allocate(sizes.next(random));
                next != null;
                next = allocator.allocate(sizes.next(random))) {
            held.add(next);
        }
    }

    private static String humanBytes(long bytes) {
        return bytes % (1 << 20) == 0
                ? (bytes >> 20) + " MiB"
                : bytes % 1024 == 0 ? (bytes >> 10) + " KiB" : bytes + " B";
    }
}
