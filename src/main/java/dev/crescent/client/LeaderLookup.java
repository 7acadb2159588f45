package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.MetadataStore;

import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/** Where the leading master is, read from the key the masters elect it with. */
public final class LeaderLookup {
    private LeaderLookup() {}

    /** @return the leader's host:port on each call; NOT_LEADER while no master leads */
    public static Supplier<String> in(MetadataStore store, MetadataKeys keys) {
        return () -> store.get(keys.leader())
                .map(kv -> new String(kv.value(), StandardCharsets.UTF_8))
                .orElseThrow(() -> new StoreException(
                        ErrorCode.NOT_LEADER, "no master leads yet (" + keys.leader() + " is empty)"));
    }
}
