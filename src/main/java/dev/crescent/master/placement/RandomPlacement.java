package dev.crescent.master.placement;

import dev.crescent.master.MountedSegment;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Spreads objects evenly by trying segments in a random order. */
public final class RandomPlacement implements PlacementStrategy {

    @Override
    public List<MountedSegment> candidates(List<MountedSegment> mounted, long size) {
        List<MountedSegment> order = new ArrayList<>(mounted);
        Collections.shuffle(order, ThreadLocalRandom.current());
        return order;
    }
}
