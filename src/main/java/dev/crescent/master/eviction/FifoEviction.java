package dev.crescent.master.eviction;

import dev.crescent.master.EvictionCandidate;
import dev.crescent.master.EvictionPolicy;
import jakarta.inject.Singleton;

import java.util.Comparator;

/** Oldest stored first, whatever was read since. */
@Singleton
public class FifoEviction implements EvictionPolicy {
    @Override
    public String name() {
        return "fifo";
    }

    @Override
    public Comparator<EvictionCandidate> order() {
        return Comparator.comparingLong(EvictionCandidate::completedMillis);
    }
}
