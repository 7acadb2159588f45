package dev.crescent.master;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * Makes room in the pool: unpinned objects in the policy's order, then soft-pinned ones. Never evicts a leased,
 * unfinished or hard-pinned object; each victim is re-checked in its own atomic section, so a read that leases it
 * meanwhile saves it.
 */
final class Eviction {
    private final ObjectIndex index;
    private final EvictionPolicy policy;
    private final InstantSource clock;
    private final ObjectTally tally;
    /** The objects this eviction frees memory of (those with a replica in its tier). */
    private final Predicate<ObjectMeta> scope;
    /** Takes a victim out of the master's books (op-log, counts, memory); called inside the victim's section. */
    private final Consumer<ObjectMeta> forget;

    Eviction(
            ObjectIndex index,
            EvictionPolicy policy,
            InstantSource clock,
            ObjectTally tally,
            Predicate<ObjectMeta> scope,
            Consumer<ObjectMeta> forget) {
        this.index = index;
        this.policy = policy;
        this.clock = clock;
        this.tally = tally;
        this.scope = scope;
        this.forget = forget;
    }

    String policyName() {
        return policy.name();
    }

    /**
     * @param may whether an object (by key) is in this eviction's scope; asked again just before each victim goes,
     *            as tenants' holdings change while it runs
     * @return bytes freed, at least {@code bytes} when enough objects could go
     */
    long evict(long bytes, Predicate<String> may) {
        return evict(bytes, may, null);
    }

    /**
     * As {@link #evict(long, Predicate)}, handing each victim to {@code instead} (which frees its memory some other
     * way, e.g. by moving it to another tier, and answers the bytes it freed) rather than dropping it; null: drop.
     */
    long evict(long bytes, Predicate<String> may, ToLongFunction<String> instead) {
        long freed = 0;
        for (EvictionCandidate candidate : candidates()) {
            if (freed >= bytes) {
                break;
            }
            if (!may.test(candidate.key())) {
                continue;
            }
            if (instead != null) {
                freed += instead.applyAsLong(candidate.key());
                continue;
            }
            long released = evictOne(candidate.key());
            if (released > 0) {
                freed += released;
                tally.evicted.increment();
            }
        }
        return freed;
    }

    private List<EvictionCandidate> candidates() {
        long now = clock.millis();
        List<EvictionCandidate> candidates = new ArrayList<>();
        index.forEach(meta -> {
            if (meta.state == ObjectState.COMPLETE && !meta.hardPin && !meta.isLeased(now) && scope.test(meta)) {
                candidates.add(new EvictionCandidate(
                        meta.key,
                        meta.size,
                        meta.completedMillis,
                        meta.lastAccessMillis,
                        meta.accessCount,
                        meta.isSoftPinned(now)));
            }
        });
        candidates.sort(Comparator.comparing(EvictionCandidate::softPinned).thenComparing(policy.order()));
        return candidates;
    }

    /** @return the bytes the victim held (all replicas), or 0 when it was saved or is gone */
    private long evictOne(String key) {
        long[] released = new long[1];
        index.update(key, (k, meta) -> {
            if (meta == null || meta.state != ObjectState.COMPLETE || meta.hardPin) {
                return meta;
            }
            if (meta.isLeased(clock.millis())) {
                tally.leaseBlocks.increment();
                return meta;
            }
            released[0] = meta.size * meta.replicas.size();
            forget.accept(meta);
            return null;
        });
        return released[0];
    }
}
