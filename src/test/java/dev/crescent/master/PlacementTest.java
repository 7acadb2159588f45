package dev.crescent.master;

import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.FreeRatioFirstPlacement;
import dev.crescent.master.placement.LocalFirstPlacement;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Where replicas go: strategies, preferred segments, distinct segments, best effort on the count. */
class PlacementTest {
    private final ManualClock clock = new ManualClock();

    private Master master(PlacementStrategy strategy) {
        Master master = new Master(MasterSettings.defaults(), strategy, new LruEviction(), clock);
        master.mountSegment("w1", "small", 1 << 16, "");
        master.mountSegment("w2", "big", 1 << 20, "");
        master.mountSegment("w3", "mid", 1 << 18, "");
        return master;
    }

    private static List<String> segmentsOf(List<ReplicaDescriptor> replicas) {
        return replicas.stream().map(ReplicaDescriptor::segment).toList();
    }

    @Test
    void freeRatioFirstPicksTheEmptiestSegment() {
        Master master = master(new FreeRatioFirstPlacement());
        master.putStart("c", "fill-big", 1 << 19, ReplicaConfig.replicas(1).withPreferred("big"), false);
        master.putStart("c", "fill-small", 1 << 14, ReplicaConfig.replicas(1).withPreferred("small"), false);
        // Free shares now: mid 100 %, small 75 %, big 50 %.
        assertEquals(List.of("mid", "small", "big"), segmentsOf(master.putStart("c", "a", 1024, 3, false)));
        assertEquals(List.of("mid"), segmentsOf(master.putStart("c", "b", 1024, 1, false)));
    }

    @Test
    void localFirstPutsTheFirstReplicaOnTheCallersOwnSegment() {
        Master master = master(new LocalFirstPlacement());
        for (int i = 0; i < 20; i++) {
            assertEquals(
                    "mid",
                    segmentsOf(master.putStart("w3", "k" + i, 100, 1, false)).getFirst());
            assertEquals(
                    "small",
                    segmentsOf(master.putStart("w1", "j" + i, 100, 2, false)).getFirst());
        }
    }

    @Test
    void preferredSegmentsComeFirstInTheirOrderAndUnknownOnesAreSkipped() {
        Master master = master(new RandomPlacement());
        for (int i = 0; i < 10; i++) {
            assertEquals(
                    List.of("mid", "small"),
                    segmentsOf(master.putStart(
                            "c",
                            "p" + i,
                            100,
                            ReplicaConfig.replicas(2).withPreferred("gone", "mid", "small"),
                            false)));
        }
    }

    @Test
    void replicasLandOnDistinctSegmentsAndTheCountIsBestEffort() {
        Master master = master(new RandomPlacement());
        List<String> placed = segmentsOf(master.putStart("c", "many", 1000, 5, false));
        assertEquals(3, placed.size());
        assertEquals(3, new HashSet<>(placed).size());
        // Too large for small: the others still take their replicas.
        assertEquals(Set.of("big", "mid"), new HashSet<>(segmentsOf(master.putStart("c", "large", 1 << 17, 3, false))));
    }
}
