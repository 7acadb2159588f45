package dev.crescent.master;

import java.util.concurrent.atomic.LongAdder;

/** Running counts of the master's objects that its stats report: complete objects, evictions, lease blocks. */
final class ObjectTally {
    final LongAdder complete = new LongAdder();
    final LongAdder evicted = new LongAdder();
    /** Removes refused, evictions skipped and frees deferred because a reader held a lease. */
    final LongAdder leaseBlocks = new LongAdder();
    /** Freed ranges whose scrub failed (tried again later). */
    final LongAdder scrubFailures = new LongAdder();
    /** Objects moved from DRAM to the disk tier, and back. */
    final LongAdder offloaded = new LongAdder();

    final LongAdder promoted = new LongAdder();
}
