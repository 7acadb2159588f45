package dev.crescent.alloc;

/**
 * One allocated range of a segment.
 *
 * @param offset byte offset inside the segment, aligned to the allocator's alignment
 * @param length bytes the caller asked for (the allocator may reserve up to one alignment unit more)
 * @param node   the allocator's handle for the range; only meaningful to the allocator that issued it
 */
public record Allocation(long offset, long length, int node) {}
