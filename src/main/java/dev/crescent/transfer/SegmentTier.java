package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.Locale;

/**
 * Which storage a segment's memory is: process or shared memory (DRAM), or a file on a local disk mapped into the
 * serving worker (DISK). Puts are placed in DRAM; the master moves objects it would evict from DRAM into DISK
 * segments and back when they are read (see docs/DESIGN.md, "SSD tier").
 */
public enum SegmentTier {
    DRAM,
    DISK;

    /** How the tier is named on the wire and in views: lower case. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The tier a wire name names; empty or null (an older peer) is DRAM. */
    public static SegmentTier parse(String name) {
        if (name == null || name.isEmpty()) {
            return DRAM;
        }
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "unknown segment tier '" + name + "' (dram or disk)");
        }
    }
}
