package dev.crescent.master.placement;

import dev.crescent.master.MountedSegment;
import jakarta.inject.Singleton;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Spreads objects evenly by trying segments in a random order: the default. */
@Singleton
public class RandomPlacement implements PlacementStrategy {

    @Override
    public String name() {
        return "random";
    }

    @Override
    public List<MountedSegment> candidates(List<MountedSegment> mounted, long size, String clientId) {
        List<MountedSegment> order = new ArrayList<>(mounted);
        Collections.shuffle(order, ThreadLocalRandom.current());
        return order;
    }
}
