package dev.crescent.transfer;

/**
 * Where a master finds the {@link VersionTable}s of segments it maps in shared memory. A table stays open (mapped)
 * from its first use until {@link #close}: a version must be withdrawable for as long as its segment is mounted, even
 * after the segment's file is gone (readers may still map its pages).
 */
public interface VersionTables {
    /** No shared memory here: no table, so no versions published. */
    VersionTables NONE = new VersionTables() {
        @Override
        public VersionTable open(String segment, String endpoint, long capacity) {
            return null;
        }

        @Override
        public void close(String segment) {}
    };

    /** The table of {@code segment} (at {@code endpoint}, holding {@code capacity} bytes), or null when none is here. */
    VersionTable open(String segment, String endpoint, long capacity);

    /** Unmaps the segment's table (it left the pool). */
    void close(String segment);
}
