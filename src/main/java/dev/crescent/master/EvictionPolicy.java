package dev.crescent.master;

import java.util.Comparator;

/** Decides which objects go first when the master must free memory. */
public interface EvictionPolicy {

    /** Config name ({@code crescent.master.eviction.policy}). */
    String name();

    /** Orders candidates: the first is evicted first. */
    Comparator<EvictionCandidate> order();
}
