package dev.crescent.protocol;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.List;

/**
 * How a put wants its object kept (Mooncake's ReplicateConfig).
 *
 * @param replicaNum        wanted replicas, each on a distinct segment; 0 = the master's default. Best effort: fewer
 *                          are placed when fewer segments have room
 * @param preferredSegments segments to try first, in this order (names that are not mounted are skipped)
 * @param softPin           evicted only after every unpinned object, while the pin lasts (renewed by reads)
 * @param hardPin           never evicted; only an explicit remove takes it away
 */
public record ReplicaConfig(int replicaNum, List<String> preferredSegments, boolean softPin, boolean hardPin) {
    public static final ReplicaConfig DEFAULT = new ReplicaConfig(0, List.of(), false, false);

    public ReplicaConfig {
        if (replicaNum < 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "replica count must not be negative: " + replicaNum);
        }
        preferredSegments = preferredSegments == null ? List.of() : List.copyOf(preferredSegments);
    }

    public static ReplicaConfig replicas(int replicaNum) {
        return new ReplicaConfig(replicaNum, List.of(), false, false);
    }

    public ReplicaConfig withPreferred(String... segments) {
        return new ReplicaConfig(replicaNum, List.of(segments), softPin, hardPin);
    }

    public ReplicaConfig withPins(boolean soft, boolean hard) {
        return new ReplicaConfig(replicaNum, preferredSegments, soft, hard);
    }
}
