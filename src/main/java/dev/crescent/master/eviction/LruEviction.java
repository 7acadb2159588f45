package dev.crescent.master.eviction;

import dev.crescent.master.EvictionCandidate;
import dev.crescent.master.EvictionPolicy;
import jakarta.inject.Singleton;

import java.util.Comparator;

/** Least recently read (or written) first: the default, right for KV-cache reuse. */
@Singleton
public class LruEviction implements EvictionPolicy {
    @Override
    public String name() {
        return "lru";
    }

    @Override
    public Comparator<EvictionCandidate> order() {
        return Comparator.comparingLong(EvictionCandidate::lastAccessMillis);
    }
}
