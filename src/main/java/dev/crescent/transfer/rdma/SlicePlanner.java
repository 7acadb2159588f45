package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.topology.Topology;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Cuts a request into slices and spreads them over the rails (RDMA NICs) the topology prefers for the memory's
 * location: round-robin over the usable preferred rails, the fallback rails only when every preferred one is
 * paused. A failed slice is retried on another usable rail.
 */
public final class SlicePlanner {
    private final long sliceBytes;
    private final RailHealth health;

    public record Slice(String rail, long offset, long length) {}

    public SlicePlanner(long sliceBytes, RailHealth health) {
        if (sliceBytes <= 0) {
            throw new StoreException(ErrorCode.INVALID_PARAMS, "slice size must be positive");
        }
        this.sliceBytes = sliceBytes;
        this.health = health;
    }

    /** @param start which usable rail takes the first slice (rotated per request so small requests spread too) */
    public List<Slice> plan(long length, Topology.Preference rails, int start) {
        List<String> usable = usable(rails, Set.of());
        List<Slice> slices = new ArrayList<>((int) Math.min(1024, length / sliceBytes + 1));
        int n = 0;
        for (long offset = 0; offset < length; offset += sliceBytes, n++) {
            slices.add(new Slice(
                    usable.get(Math.floorMod(start + n, usable.size())),
                    offset,
                    Math.min(sliceBytes, length - offset)));
        }
        return slices;
    }

    /** The rail to retry a slice on: a usable one that has not failed it yet, preferred ones first. */
    public String retryRail(Topology.Preference rails, Set<String> failed) {
        return usable(rails, failed).getFirst();
    }

    private List<String> usable(Topology.Preference rails, Set<String> excluded) {
        List<String> preferred = rails.preferred().stream()
                .filter(r -> !excluded.contains(r))
                .filter(health::usable)
                .toList();
        if (!preferred.isEmpty()) {
            return preferred;
        }
        List<String> fallback = rails.fallback().stream()
                .filter(r -> !excluded.contains(r))
                .filter(health::usable)
                .toList();
        if (fallback.isEmpty()) {
            throw new StoreException(
                    ErrorCode.TRANSFER_FAIL,
                    "no usable RDMA rail: " + rails.preferred() + rails.fallback()
                            + " are paused after errors or have failed this slice");
        }
        return fallback;
    }
}
