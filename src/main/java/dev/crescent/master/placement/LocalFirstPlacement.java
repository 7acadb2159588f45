package dev.crescent.master.placement;

import dev.crescent.master.MountedSegment;
import dev.crescent.master.PlacementStrategy;
import jakarta.inject.Singleton;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The putting client's own segments first (memory it mounted itself, reached without the network), then the
 * others in random order.
 */
@Singleton
public class LocalFirstPlacement implements PlacementStrategy {

    @Override
    public String name() {
        return "local-first";
    }

    @Override
    public List<MountedSegment> candidates(List<MountedSegment> mounted, long size, String clientId) {
        List<MountedSegment> local = new ArrayList<>();
        List<MountedSegment> remote = new ArrayList<>();
        for (MountedSegment segment : mounted) {
            (segment.ownerClientId().equals(clientId) ? local : remote).add(segment);
        }
        Collections.shuffle(local, ThreadLocalRandom.current());
        Collections.shuffle(remote, ThreadLocalRandom.current());
        local.addAll(remote);
        return local;
    }
}
