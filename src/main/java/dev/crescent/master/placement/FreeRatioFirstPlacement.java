package dev.crescent.master.placement;

import dev.crescent.master.MountedSegment;
import dev.crescent.master.PlacementStrategy;
import jakarta.inject.Singleton;

import java.util.Comparator;
import java.util.List;

/** Emptiest segment first (largest share of free capacity), so segments of different sizes fill evenly. */
@Singleton
public class FreeRatioFirstPlacement implements PlacementStrategy {

    @Override
    public String name() {
        return "free-ratio-first";
    }

    @Override
    public List<MountedSegment> candidates(List<MountedSegment> mounted, long size, String clientId) {
        record Ranked(MountedSegment segment, double freeRatio) {}
        // Read each segment's figures once: they change under concurrent puts and a sort needs stable keys.
        return mounted.stream()
                .map(s -> new Ranked(s, (double) s.allocator().freeBytes() / s.capacity()))
                .sorted(Comparator.comparingDouble(Ranked::freeRatio).reversed())
                .map(Ranked::segment)
                .toList();
    }
}
