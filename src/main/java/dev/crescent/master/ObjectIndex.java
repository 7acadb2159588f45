package dev.crescent.master;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * key -> ObjectMeta. The map is lock-striped, and every change to one key runs in that key's atomic section
 * ({@link #update}), so there is no global lock on the hot path and no two writers of a key interleave.
 */
final class ObjectIndex {
    private final ConcurrentHashMap<String, ObjectMeta> objects = new ConcurrentHashMap<>(1 << 12);
    /** Tenants' accounts, settled with every change, in the same section. */
    final Tenants tenants = new Tenants();

    /**
     * Runs {@code change} atomically for {@code key}. It receives the current meta (or null) and returns the new
     * one (or null to remove). An exception thrown by {@code change} leaves the entry as it was. The object's
     * tenant account follows the change.
     */
    ObjectMeta update(String key, BiFunction<String, ObjectMeta, ObjectMeta> change) {
        return objects.compute(key, (k, before) -> {
            ObjectMeta after = change.apply(k, before);
            if (before != null && before != after) {
                Tenants.leave(before);
            }
            if (after != null) {
                tenants.settle(after);
            }
            return after;
        });
    }

    ObjectMeta get(String key) {
        return objects.get(key);
    }

    int size() {
        return objects.size();
    }

    void forEach(Consumer<ObjectMeta> action) {
        objects.values().forEach(action);
    }
}
