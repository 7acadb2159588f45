package dev.crescent.master;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Clients that mounted memory, and when each was last heard from. A client that stays silent past the TTL is
 * declared dead; the master then unmounts its segments.
 */
final class ClientRegistry {
    private final ConcurrentHashMap<String, Long> lastSeenMillis = new ConcurrentHashMap<>();
    /** Whether the master served at the last expiry check (see {@link #takeExpired}). */
    private volatile boolean servedAtLastExpiry = true;

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

    /**
     * Removes and returns the clients silent for at least {@code ttlMillis}, only while the master serves. A master
     * that does not serve (a standby, or a leader suspended while the metadata store is unreachable) refuses
     * heartbeats, so silence then says nothing about the clients; when it serves again each client gets a full TTL
     * from that moment. (Without this, an etcd outage longer than client-ttl made a recovering leader drop every
     * worker's segment, and with them objects it had kept through the outage.)
     */
    List<String> takeExpired(long nowMillis, long ttlMillis, boolean serving) {
        if (!serving) {
            servedAtLastExpiry = false;
            return List.of();
        }
        if (!servedAtLastExpiry) {
            lastSeenMillis.replaceAll((id, seen) -> Math.max(seen, nowMillis));
            servedAtLastExpiry = true;
        }
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
