package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Memory registered with this engine, by segment name. Every access from a transport goes through
 * {@link #slice}, which is the one place a range is checked against what was registered.
 */
public final class RegisteredMemory {

    /** A registered segment and where it lives ({@code cpu:N}, later {@code cuda:N}). */
    public record Region(String name, MemorySegment memory, String location) {}

    private final ConcurrentHashMap<String, Region> regions = new ConcurrentHashMap<>();
    private final RangeFences fences = new RangeFences();

    /** Ranges the master freed, refusing tickets issued before (every transport serving this memory checks them). */
    public RangeFences fences() {
        return fences;
    }

    public void register(String name, MemorySegment memory, String location) {
        if (regions.putIfAbsent(name, new Region(name, memory, location)) != null) {
            throw new StoreException(ErrorCode.SEGMENT_ALREADY_EXISTS, "segment '" + name + "' is already registered");
        }
    }

    public void unregister(String name) {
        if (regions.remove(name) == null) {
            throw new StoreException(ErrorCode.SEGMENT_NOT_FOUND, "segment '" + name + "' is not registered");
        }
    }

    public boolean contains(String name) {
        return regions.containsKey(name);
    }

    public Region region(String name) {
        return regions.get(name);
    }

    /** The registered range {@code [offset, offset+length)} of {@code name}; refuses anything outside it. */
    public MemorySegment slice(String name, long offset, long length) {
        Region region = regions.get(name);
        if (region == null) {
            throw new StoreException(ErrorCode.SEGMENT_NOT_FOUND, "segment '" + name + "' is not registered here");
        }
        checkRange(name, region.memory().byteSize(), offset, length);
        return region.memory().asSlice(offset, length);
    }

    /**
     * The one bounds rule of every transport: {@code [offset, offset+length)} must lie inside a segment of
     * {@code size} bytes (written to avoid overflow on hostile offsets).
     */
    public static void checkRange(String segment, long size, long offset, long length) {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new StoreException(
                    ErrorCode.INVALID_PARAMS,
                    "range [%d, +%d) is outside segment '%s' of %d bytes".formatted(offset, length, segment, size));
        }
    }
}
