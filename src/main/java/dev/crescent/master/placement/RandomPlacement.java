package dev.crescent.master.placement;

import dev.crescent.master.MountedSegment;
import dev.crescent.master.PlacementStrategy;
import jakarta.inject.Singleton;

import java.util.AbstractList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Spreads objects evenly: segments are tried starting at a random one and going round. For one replica that is a
 * uniformly random segment; a rotation instead of a shuffle keeps the hot path free of copying.
 */
@Singleton
public class RandomPlacement implements PlacementStrategy {

    @Override
    public String name() {
        return "random";
    }

    @Override
    public List<MountedSegment> candidates(List<MountedSegment> mounted, long size, String clientId) {
        int n = mounted.size();
        if (n <= 1) {
            return mounted;
        }
        int start = ThreadLocalRandom.current().nextInt(n);
        return new AbstractList<>() {
            @Override
            public MountedSegment get(int index) {
                return mounted.get((start + index) % n);
            }

            @Override
            public int size() {
                return n;
            }
        };
    }
}
