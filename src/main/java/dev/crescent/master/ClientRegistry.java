package dev.crescent.master;

import java.util.ArrayList;
import java.util.Map;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Clients that mounted memory, and when each was last heard from. A client that stays silent past the TTL is
 * declared dead; the master then unmounts its segments.
 */
final class ClientRegistry {
    private final ConcurrentHashMap<String, Long> lastSeenMillis = new ConcurrentHashMap<>();

    /** Counts every known client as heard from at {@code nowMillis} (they could not reach this master before). */
    void touchAll(long nowMillis) {
        lastSeenMillis.replaceAll((id, seen) -> Math.max(seen, nowMillis));
    }

    /** Registers (or refreshes) a client that mounts memory. */
    void register(String clientId, long nowMillis) {
        lastSeenMillis.put(clientId, nowMillis);
    }

    /** @return false when the client is unknown (it must remount) */
    boolean refresh(String clientId, long nowMillis) {
        return lastSeenMillis.computeIfPresent(clientId, (id, seen) -> Math.max(seen, nowMillis)) != null;
    }

    void forget(String clientId) {
        lastSeenMillis.remove(clientId);
    }

    /** Removes and returns the clients silent for at least {@code ttlMillis}. */
    List<String> takeExpired(long nowMillis, long ttlMillis) {
        List<String> expired = new ArrayList<>();
        for (Map.Entry<String, Long> entry : lastSeenMillis.entrySet()) {
            long seen = entry.getValue();
            if (nowMillis - seen >= ttlMillis && lastSeenMillis.remove(entry.getKey(), seen)) {
                expired.add(entry.getKey());
            }
        }
        return expired;
    }

    Map<String, Long> view() {
        return Map.copyOf(lastSeenMillis);
    }
}
