package dev.crescent.master.eviction;

import dev.crescent.master.EvictionCandidate;
import dev.crescent.master.EvictionPolicy;
import jakarta.inject.Singleton;

import java.util.Comparator;

/** Least often read first; ties go to the least recently read. */
@Singleton
public class LfuEviction implements EvictionPolicy {
    @Override
    public String name() {
        return "lfu";
    }

    @Override
    public Comparator<EvictionCandidate> order() {
        return Comparator.comparingLong(EvictionCandidate::accessCount)
                .thenComparingLong(EvictionCandidate::lastAccessMillis);
    }
}
