package dev.crescent.alloc;

import java.util.Arrays;

/**
 * O(1) offset allocator over one segment, TLSF style: free ranges sit in two-level size bins (a power of two,
 * then 16 linear steps), found with two bitmap scans; a freed range merges with free physical neighbours.
 * It hands out offsets only; it never touches the memory it describes.
 *
 * <p>Ranges are kept in parallel primitive arrays indexed by node number, so allocation and free make no
 * garbage. Sizes are counted in units of {@code alignment} bytes, so every offset is aligned. One instance
 * is guarded by its own monitor: operations are short and constant-time, and each segment has its own
 * allocator, so there is no global lock.
 */
public final class OffsetAllocator {
    private static final int SL_BITS = 4;
    private static final int SL_COUNT = 1 << SL_BITS;
    private static final int FL_COUNT = 64;
    private static final int NONE = -1;
    private static final byte UNUSED = 0;
    private static final byte FREE = 1;
    private static final byte USED = 2;
    /** How many ranges of the exact-size bin a failed good-fit search still looks at. */
    private static final int FALLBACK_SCAN = 16;

    private final long capacityBytes;
    private final int alignShift;

    private long[] offsetUnits;
    private long[] sizeUnits;
    private int[] prevPhys;
    private int[] nextPhys;
    private int[] prevFree;
    private int[] nextFree;
    private byte[] state;
    private int[] spareNodes;
    private int spareCount;

    private long firstLevelMap;
    private final int[] secondLevelMap = new int[FL_COUNT];
    private final int[] binHeads = new int[FL_COUNT * SL_COUNT];

    private long usedUnits;
    private long freeUnits;
    private int allocationCount;
    private int freeRangeCount;

    /**
     * @param capacityBytes size of the segment; the tail that is not a whole alignment unit is not used
     * @param alignment     offset and size granularity in bytes, a power of two
     */
    public OffsetAllocator(long capacityBytes, int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two: " + alignment);
        }
        this.alignShift = Integer.numberOfTrailingZeros(alignment);
        long units = capacityBytes >>> alignShift;
        if (units <= 0) {
            throw new IllegalArgumentException("capacity " + capacityBytes + " is below one unit of " + alignment);
        }
        this.capacityBytes = units << alignShift;
        Arrays.fill(binHeads, NONE);
        int initialNodes = 64;
        offsetUnits = new long[initialNodes];
        sizeUnits = new long[initialNodes];
        prevPhys = new int[initialNodes];
        nextPhys = new int[initialNodes];
        prevFree = new int[initialNodes];
        nextFree = new int[initialNodes];
        state = new byte[initialNodes];
        spareNodes = new int[initialNodes];
        for (int i = initialNodes - 1; i >= 0; i--) {
            spareNodes[spareCount++] = i;
        }
        int whole = takeNode();
        offsetUnits[whole] = 0;
        sizeUnits[whole] = units;
        prevPhys[whole] = NONE;
        nextPhys[whole] = NONE;
        insertFree(whole);
        freeUnits = units;
    }

    /**
     * An allocator whose allocated ranges are exactly the given ones and whose free ranges are the gaps between
     * them: how a new master leader rebuilds a segment from the replicated index. O(n log n) once, no search.
     *
     * @param offsets byte offsets (aligned) of the ranges to mark allocated, in any order
     * @param lengths their lengths in bytes, parallel to {@code offsets}
     * @param handles filled with the allocation handle of each range, parallel to {@code offsets}
     * @throws IllegalArgumentException when ranges overlap, are misaligned or lie outside the segment
     */
    public static OffsetAllocator withAllocated(
            long capacityBytes, int alignment, long[] offsets, long[] lengths, Allocation[] handles) {
        OffsetAllocator a = new OffsetAllocator(capacityBytes, alignment);
        Integer[] order = new Integer[offsets.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Long.compare(offsets[x], offsets[y]));
        synchronized (a) {
            int free = 0; // the whole segment is node 0 and the only free range
            for (int i : order) {
                if (offsets[i] < 0 || (offsets[i] & ((1L << a.alignShift) - 1)) != 0 || lengths[i] <= 0) {
                    throw new IllegalArgumentException(
                            "range [" + offsets[i] + ", +" + lengths[i] + ") is not aligned");
                }
                long start = offsets[i] >>> a.alignShift;
                long units = a.toUnits(lengths[i]);
                if (free == NONE
                        || start < a.offsetUnits[free]
                        || start + units > a.offsetUnits[free] + a.sizeUnits[free]) {
                    throw new IllegalArgumentException("range [" + offsets[i] + ", +" + lengths[i]
                            + ") overlaps another or lies outside the segment");
                }
                a.removeFree(free);
                int used = free;
                long gap = start - a.offsetUnits[free];
                if (gap > 0) {
                    a.splitTail(free, gap); // the gap stays free, the rest becomes its own (free) node
                    a.insertFree(free);
                    used = a.nextPhys[free];
                    a.removeFree(used);
                }
                a.splitTail(used, units);
                a.state[used] = USED;
                a.usedUnits += units;
                a.freeUnits -= units;
                a.allocationCount++;
                handles[i] = new Allocation(offsets[i], lengths[i], used);
                int next = a.nextPhys[used];
                free = next != NONE && a.state[next] == FREE ? next : NONE;
            }
        }
        return a;
    }

    /** @return the range, or {@code null} when no free range is large enough (the caller decides what to do). */
    public synchronized Allocation allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation size must be positive: " + bytes);
        }
        long units = toUnits(bytes);
        if (units > freeUnits) {
            return null;
        }
        int node = findFree(units);
        if (node == NONE) {
            return null;
        }
        removeFree(node);
        splitTail(node, units);
        state[node] = USED;
        usedUnits += sizeUnits[node];
        freeUnits -= sizeUnits[node];
        allocationCount++;
        return new Allocation(offsetUnits[node] << alignShift, bytes, node);
    }

    /** Returns a range; a range that is not currently allocated (double free, foreign handle) is refused. */
    public synchronized void free(Allocation allocation) {
        int node = allocation.node();
        if (node < 0
                || node >= state.length
                || state[node] != USED
                || (offsetUnits[node] << alignShift) != allocation.offset()) {
            throw new IllegalStateException("range " + allocation + " is not allocated here");
        }
        usedUnits -= sizeUnits[node];
        freeUnits += sizeUnits[node];
        allocationCount--;
        int next = nextPhys[node];
        if (next != NONE && state[next] == FREE) {
            removeFree(next);
            absorbNext(node, next);
        }
        int prev = prevPhys[node];
        if (prev != NONE && state[prev] == FREE) {
            removeFree(prev);
            absorbNext(prev, node);
            node = prev;
        }
        insertFree(node);
    }

    public long capacityBytes() {
        return capacityBytes;
    }

    public synchronized long usedBytes() {
        return usedUnits << alignShift;
    }

    public synchronized long freeBytes() {
        return freeUnits << alignShift;
    }

    public synchronized int allocationCount() {
        return allocationCount;
    }

    /** Size of the largest free range: the biggest single object this segment could take now. */
    public synchronized long largestFreeBytes() {
        if (firstLevelMap == 0) {
            return 0;
        }
        int fl = 63 - Long.numberOfLeadingZeros(firstLevelMap);
        int sl = 31 - Integer.numberOfLeadingZeros(secondLevelMap[fl]);
        long largest = 0;
        for (int n = binHeads[fl * SL_COUNT + sl]; n != NONE; n = nextFree[n]) {
            largest = Math.max(largest, sizeUnits[n]);
        }
        return largest << alignShift;
    }

    /** 0 when all free space is one range, towards 1 when it is scattered in small pieces. */
    public synchronized double fragmentation() {
        long free = freeUnits << alignShift;
        return free == 0 ? 0.0 : 1.0 - (double) largestFreeBytes() / free;
    }

    /**
     * Walks every range and checks the allocator's invariants: ranges tile the segment without gaps or overlap,
     * no two free ranges touch, every free range is in exactly the bin its size maps to, and the counters agree.
     * Meant for tests and diagnostics; it is O(ranges).
     *
     * @throws IllegalStateException naming the first broken invariant
     */
    public synchronized void checkInvariants() {
        int first = NONE;
        for (int i = 0; i < state.length; i++) {
            if (state[i] != UNUSED && prevPhys[i] == NONE) {
                if (first != NONE) {
                    throw new IllegalStateException("two ranges claim offset 0: " + first + ", " + i);
                }
                first = i;
            }
        }
        long expectOffset = 0;
        long used = 0;
        long free = 0;
        int usedCount = 0;
        int freeCount = 0;
        int prev = NONE;
        for (int n = first; n != NONE; n = nextPhys[n]) {
            if (offsetUnits[n] != expectOffset) {
                throw new IllegalStateException("gap or overlap at unit " + expectOffset + " (node " + n + ")");
            }
            if (prevPhys[n] != prev) {
                throw new IllegalStateException("broken back link at node " + n);
            }
            if (sizeUnits[n] <= 0) {
                throw new IllegalStateException("empty range at node " + n);
            }
            if (state[n] == FREE) {
                if (prev != NONE && state[prev] == FREE) {
                    throw new IllegalStateException("adjacent free ranges not merged at node " + n);
                }
                if (!binContains(binOf(sizeUnits[n]), n)) {
                    throw new IllegalStateException("free node " + n + " missing from its bin");
                }
                free += sizeUnits[n];
                freeCount++;
            } else if (state[n] == USED) {
                used += sizeUnits[n];
                usedCount++;
            } else {
                throw new IllegalStateException("unused node " + n + " linked into the segment");
            }
            expectOffset += sizeUnits[n];
            prev = n;
        }
        if ((expectOffset << alignShift) != capacityBytes) {
            throw new IllegalStateException("ranges cover " + (expectOffset << alignShift) + " of " + capacityBytes);
        }
        if (used != usedUnits || free != freeUnits || usedCount != allocationCount || freeCount != freeRangeCount) {
            throw new IllegalStateException("counters disagree with ranges: used %d/%d free %d/%d allocs %d/%d"
                    .formatted(used, usedUnits, free, freeUnits, usedCount, allocationCount));
        }
        int binned = 0;
        for (int b = 0; b < binHeads.length; b++) {
            boolean bitSet = (secondLevelMap[b / SL_COUNT] & (1 << (b % SL_COUNT))) != 0;
            if (bitSet != (binHeads[b] != NONE)) {
                throw new IllegalStateException("bitmap disagrees with bin " + b);
            }
            for (int n = binHeads[b]; n != NONE; n = nextFree[n]) {
                binned++;
            }
        }
        if (binned != freeRangeCount) {
            throw new IllegalStateException("bins hold " + binned + " ranges, expected " + freeRangeCount);
        }
    }

    private long toUnits(long bytes) {
        return (bytes + (1L << alignShift) - 1) >>> alignShift;
    }

    /** The bin whose size class contains {@code units}. */
    private static int binOf(long units) {
        if (units < SL_COUNT) {
            return (int) units;
        }
        int fl = 63 - Long.numberOfLeadingZeros(units);
        int sl = (int) ((units >>> (fl - SL_BITS)) & (SL_COUNT - 1));
        return (fl - SL_BITS + 1) * SL_COUNT + sl;
    }

    /** The lowest bin whose every range is at least {@code units} long. */
    private static int goodFitBin(long units) {
        if (units < SL_COUNT) {
            return (int) units;
        }
        int fl = 63 - Long.numberOfLeadingZeros(units);
        return binOf(units + (1L << (fl - SL_BITS)) - 1);
    }

    private int findFree(long units) {
        // Exact class first: with uniform KV-block sizes the head of this bin fits exactly, which keeps
        // large ranges whole instead of splitting them.
        int exact = binOf(units);
        int head = binHeads[exact];
        if (head != NONE && sizeUnits[head] >= units) {
            return head;
        }
        int bin = goodFitBin(units);
        int fl = bin / SL_COUNT;
        int sl = bin % SL_COUNT;
        if (fl < FL_COUNT) {
            int slMap = secondLevelMap[fl] & (-1 << sl);
            if (slMap == 0) {
                long flMap = fl + 1 < FL_COUNT ? firstLevelMap & (-1L << (fl + 1)) : 0;
                if (flMap != 0) {
                    fl = Long.numberOfTrailingZeros(flMap);
                    slMap = secondLevelMap[fl];
                }
            }
            if (slMap != 0) {
                return binHeads[fl * SL_COUNT + Integer.numberOfTrailingZeros(slMap)];
            }
        }
        // Good fit found nothing bigger; a range of the exact class may still be long enough.
        int scanned = 0;
        for (int n = head; n != NONE && scanned < FALLBACK_SCAN; n = nextFree[n], scanned++) {
            if (sizeUnits[n] >= units) {
                return n;
            }
        }
        return NONE;
    }

    /** Cuts {@code node} down to {@code units} and puts the rest back as a free range. */
    private void splitTail(int node, long units) {
        long rest = sizeUnits[node] - units;
        if (rest == 0) {
            return;
        }
        int tail = takeNode();
        offsetUnits[tail] = offsetUnits[node] + units;
        sizeUnits[tail] = rest;
        prevPhys[tail] = node;
        nextPhys[tail] = nextPhys[node];
        if (nextPhys[node] != NONE) {
            prevPhys[nextPhys[node]] = tail;
        }
        nextPhys[node] = tail;
        sizeUnits[node] = units;
        insertFree(tail);
    }

    /** Merges physical neighbour {@code next} into {@code node}; {@code next} must already be off its bin. */
    private void absorbNext(int node, int next) {
        sizeUnits[node] += sizeUnits[next];
        int after = nextPhys[next];
        nextPhys[node] = after;
        if (after != NONE) {
            prevPhys[after] = node;
        }
        releaseNode(next);
    }

    private void insertFree(int node) {
        int bin = binOf(sizeUnits[node]);
        int head = binHeads[bin];
        prevFree[node] = NONE;
        nextFree[node] = head;
        if (head != NONE) {
            prevFree[head] = node;
        }
        binHeads[bin] = node;
        secondLevelMap[bin / SL_COUNT] |= 1 << (bin % SL_COUNT);
        firstLevelMap |= 1L << (bin / SL_COUNT);
        state[node] = FREE;
        freeRangeCount++;
    }

    private void removeFree(int node) {
        int bin = binOf(sizeUnits[node]);
        int prev = prevFree[node];
        int next = nextFree[node];
        if (prev != NONE) {
            nextFree[prev] = next;
        } else {
            binHeads[bin] = next;
        }
        if (next != NONE) {
            prevFree[next] = prev;
        }
        if (binHeads[bin] == NONE) {
            int fl = bin / SL_COUNT;
            secondLevelMap[fl] &= ~(1 << (bin % SL_COUNT));
            if (secondLevelMap[fl] == 0) {
                firstLevelMap &= ~(1L << fl);
            }
        }
        state[node] = USED;
        freeRangeCount--;
    }

    private boolean binContains(int bin, int node) {
        for (int n = binHeads[bin]; n != NONE; n = nextFree[n]) {
            if (n == node) {
                return true;
            }
        }
        return false;
    }

    private int takeNode() {
        if (spareCount == 0) {
            grow();
        }
        return spareNodes[--spareCount];
    }

    private void releaseNode(int node) {
        state[node] = UNUSED;
        spareNodes[spareCount++] = node;
    }

    private void grow() {
        int old = state.length;
        int size = old * 2;
        offsetUnits = Arrays.copyOf(offsetUnits, size);
        sizeUnits = Arrays.copyOf(sizeUnits, size);
        prevPhys = Arrays.copyOf(prevPhys, size);
        nextPhys = Arrays.copyOf(nextPhys, size);
        prevFree = Arrays.copyOf(prevFree, size);
        nextFree = Arrays.copyOf(nextFree, size);
        state = Arrays.copyOf(state, size);
        spareNodes = Arrays.copyOf(spareNodes, size);
        for (int i = size - 1; i >= old; i--) {
            spareNodes[spareCount++] = i;
        }
    }
}
