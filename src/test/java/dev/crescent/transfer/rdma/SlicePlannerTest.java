package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.transfer.topology.SysfsTree;
import dev.crescent.transfer.topology.Topology;
import dev.crescent.transfer.topology.TopologyDiscovery;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NIC choice and slicing on a synthetic two-socket machine with two RDMA NICs per socket. */
class SlicePlannerTest {
    @TempDir
    Path sys;

    private final AtomicLong now = new AtomicLong();
    private RailHealth health;
    private SlicePlanner planner;
    private Topology.Preference socket0;

    @BeforeEach
    void machine() throws IOException {
        SysfsTree tree = new SysfsTree(sys).numaNode(0, "0-15").numaNode(1, "16-31");
        nic(tree, "mlx5_0", "pci0000:3a/0000:3a:00.0/0000:3b:00.0", 0);
        nic(tree, "mlx5_1", "pci0000:3a/0000:3a:00.0/0000:3b:00.1", 0);
        nic(tree, "mlx5_2", "pci0000:d7/0000:d7:00.0/0000:d8:00.0", 1);
        nic(tree, "mlx5_3", "pci0000:d7/0000:d7:00.0/0000:d8:00.1", 1);
        Topology topology = new TopologyDiscovery(sys).discover(Set.of(), Set.of("mlx5_3"));
        socket0 = RdmaRuntime.rails(topology, Set.of("mlx5_0", "mlx5_1", "mlx5_2"));
        health = new RailHealth(3, Duration.ofSeconds(5), now::get);
        planner = new SlicePlanner(64 << 10, health);
    }

    @Test
    void railsComeFromTheTopologyMatrixNarrowedToOpenedAndAllowedDevices() {
        assertEquals(new Topology.Preference(List.of("mlx5_0", "mlx5_1"), List.of("mlx5_2")), socket0);
        assertEquals(
                List.of("mlx5_1", "mlx5_2"),
                RdmaRuntime.usable(List.of("mlx5_0", "mlx5_1", "mlx5_2"), Set.of(), Set.of("mlx5_0")));
        assertEquals(
                List.of("mlx5_2"),
                RdmaRuntime.usable(List.of("mlx5_0", "mlx5_1", "mlx5_2"), Set.of("mlx5_2", "mlx5_9"), Set.of()));
        assertEquals(
                new Topology.Preference(List.of("mlx5_0"), List.of()),
                RdmaRuntime.rails(null, Set.of("mlx5_0")),
                "without a topology every opened device is usable");
    }

    @Test
    void slicesAreSpreadRoundRobinOverTheNumaLocalNics() {
        List<SlicePlanner.Slice> slices = planner.plan((4 << 16) + 100, socket0, 0);
        assertEquals(
                List.of("mlx5_0", "mlx5_1", "mlx5_0", "mlx5_1", "mlx5_0"),
                slices.stream().map(SlicePlanner.Slice::rail).toList());
        assertEquals(100, slices.getLast().length());
        assertEquals(
                (4 << 16) + 100,
                slices.stream().mapToLong(SlicePlanner.Slice::length).sum());
        assertEquals("mlx5_1", planner.plan(10, socket0, 1).getFirst().rail(), "requests rotate the first rail");
    }

    @Test
    void aRailWithRepeatedErrorsIsPausedThenTriedAgain() {
        assertFalse(health.failed("mlx5_0"));
        assertFalse(health.failed("mlx5_0"));
        health.succeeded("mlx5_0"); // a success clears the count
        assertFalse(health.failed("mlx5_0"));
        assertFalse(health.failed("mlx5_0"));
        assertTrue(health.failed("mlx5_0"), "third failure in a row pauses the rail");
        assertEquals(
                Set.of("mlx5_1"),
                Set.copyOf(planner.plan(1 << 20, socket0, 0).stream()
                        .map(SlicePlanner.Slice::rail)
                        .toList()));
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        assertTrue(health.usable("mlx5_0"), "the pause ends");
        assertEquals(
                Set.of("mlx5_0", "mlx5_1"),
                Set.copyOf(planner.plan(1 << 20, socket0, 0).stream()
                        .map(SlicePlanner.Slice::rail)
                        .toList()));
    }

    @Test
    void theOtherSocketsNicIsUsedOnlyWhenEveryLocalOneIsPaused() {
        pause("mlx5_0");
        pause("mlx5_1");
        assertEquals(
                Set.of("mlx5_2"),
                Set.copyOf(planner.plan(1 << 20, socket0, 0).stream()
                        .map(SlicePlanner.Slice::rail)
                        .toList()));
        pause("mlx5_2");
        StoreException none = assertThrows(StoreException.class, () -> planner.plan(10, socket0, 0));
        assertEquals(ErrorCode.TRANSFER_FAIL, none.code());
    }

    @Test
    void aFailedSliceIsRetriedOnARailThatHasNotFailedIt() {
        assertEquals("mlx5_1", planner.retryRail(socket0, Set.of("mlx5_0")));
        assertEquals("mlx5_2", planner.retryRail(socket0, Set.of("mlx5_0", "mlx5_1")));
        assertThrows(StoreException.class, () -> planner.retryRail(socket0, Set.of("mlx5_0", "mlx5_1", "mlx5_2")));
    }

    private void pause(String rail) {
        health.failed(rail);
        health.failed(rail);
        health.failed(rail);
    }

    private static void nic(SysfsTree tree, String name, String pciPath, int numa) throws IOException {
        tree.device(pciPath, numa, null, null).link("class/infiniband/" + name, pciPath);
    }
}
