package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.ArrayList;
import java.util.List;

/**
 * How a segment is registered with a device: in chunks no larger than the device's largest memory region, cut at
 * page boundaries (huge-page boundaries when the segment is backed by huge pages, so no huge page is split between
 * two regions), and how a range of the segment maps onto those chunks.
 */
public final class MemoryRegions {
    public static final long PAGE = 4096;
    public static final long HUGE_PAGE = 2L << 20;

    private MemoryRegions() {}

    /** A registered piece of a segment: {@code [offset, offset + length)}. */
    public record Chunk(int index, long offset, long length) {
        long end() {
            return offset + length;
        }
    }

    /** A piece of a transfer that lies in one chunk. */
    public record Piece(int chunk, long offset, long length) {}

    /**
     * @param maxRegionBytes the device's max_mr_size
     * @param hugePages      whether the segment is backed by 2 MiB huge pages
     */
    public static List<Chunk> plan(long segmentBytes, long maxRegionBytes, boolean hugePages) {
        long page = hugePages ? HUGE_PAGE : PAGE;
        if (segmentBytes <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "nothing to register: " + segmentBytes + " bytes");
        }
        if (hugePages && segmentBytes % HUGE_PAGE != 0) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "a huge-page segment must be a multiple of 2 MiB, not " + segmentBytes + " bytes");
        }
        long chunkBytes = maxRegionBytes / page * page;
        if (chunkBytes <= 0) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "the device's largest memory region (" + maxRegionBytes + " bytes) is smaller than a page (" + page
                            + ")");
        }
        List<Chunk> chunks = new ArrayList<>();
        for (long offset = 0; offset < segmentBytes; offset += chunkBytes) {
            chunks.add(new Chunk(chunks.size(), offset, Math.min(chunkBytes, segmentBytes - offset)));
        }
        return chunks;
    }

    /** {@code [offset, offset + length)} cut where it crosses from one chunk into the next. */
    public static List<Piece> locate(List<Chunk> chunks, long offset, long length) {
        long size = chunks.isEmpty() ? 0 : chunks.getLast().end();
        if (offset < 0 || length <= 0 || offset > size - length) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "range [" + offset + ", " + (offset + length) + ") is outside the registered " + size + " bytes");
        }
        List<Piece> pieces = new ArrayList<>(2);
        int index = chunkOf(chunks, offset);
        long at = offset;
        long left = length;
        while (left > 0) {
            Chunk chunk = chunks.get(index++);
            long take = Math.min(left, chunk.end() - at);
            pieces.add(new Piece(chunk.index(), at - chunk.offset(), take));
            at += take;
            left -= take;
        }
        return pieces;
    }

    private static int chunkOf(List<Chunk> chunks, long offset) {
        int low = 0;
        int high = chunks.size() - 1;
        while (low < high) {
            int mid = (low + high + 1) >>> 1;
            if (chunks.get(mid).offset() <= offset) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        return low;
    }
}
