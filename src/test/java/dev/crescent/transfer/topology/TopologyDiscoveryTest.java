package dev.crescent.transfer.topology;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Discovery over a synthetic sysfs tree of a two-socket GPU server. */
class TopologyDiscoveryTest {

    @TempDir
    Path sys;

    @Test
    void buildsThePriorityMatrixFromNumaAndPciPlacement() throws IOException {
        write("devices/system/node/node0/cpulist", "0-15");
        write("devices/system/node/node1/cpulist", "16-31");
        // Socket 0: a PCI switch with GPU 0 and mlx5_0 behind it; socket 1: mlx5_1 and GPU 1 on separate switches.
        device("pci0000:3a/0000:3a:00.0/0000:3b:00.0", 0, null, null);
        device("pci0000:3a/0000:3a:00.0/0000:3c:00.0", 0, "0x10de", "0x030200");
        device("pci0000:d7/0000:d7:00.0/0000:d8:00.0", 1, null, null);
        device("pci0000:d7/0000:d7:02.0/0000:d9:00.0", 1, "0x10de", "0x030200");
        device("pci0000:00/0000:00:02.0", 0, "0x1002", "0x030000");
        link("class/infiniband/mlx5_0", "pci0000:3a/0000:3a:00.0/0000:3b:00.0");
        link("class/infiniband/mlx5_1", "pci0000:d7/0000:d7:00.0/0000:d8:00.0");
        link("class/net/eth0", "pci0000:3a/0000:3a:00.0/0000:3b:00.0");
        link("class/net/eth1", "pci0000:d7/0000:d7:00.0/0000:d8:00.0");
        Files.createDirectories(sys.resolve("class/net/lo"));

        Topology topology = new TopologyDiscovery(sys).discover(Set.of(), Set.of());

        assertEquals(
                List.of(0, 1),
                topology.numaNodes().stream().map(Topology.NumaNode::id).toList());
        assertEquals("16-31", topology.numaNodes().get(1).cpus());
        assertEquals(
                List.of("eth0", "eth1"),
                topology.nics().stream().map(Topology.Device::name).toList(),
                "lo has no device and is skipped");
        assertEquals(
                List.of("mlx5_0", "mlx5_1"),
                topology.rdmaDevices().stream().map(Topology.Device::name).toList());
        assertEquals(1, topology.rdmaDevices().get(1).numaNode());
        assertEquals(
                List.of("amd", "nvidia", "nvidia"),
                topology.gpus().stream().map(Topology.Gpu::vendor).toList());

        assertEquals(
                new Topology.Preference(List.of("mlx5_0"), List.of("mlx5_1")),
                topology.matrix().get("cpu:0"));
        assertEquals(
                new Topology.Preference(List.of("mlx5_1"), List.of("mlx5_0")),
                topology.matrix().get("cpu:1"));
        assertEquals(
                new Topology.Preference(List.of("mlx5_0"), List.of("mlx5_1")),
                topology.matrix().get("cuda:0"),
                "same PCI switch");
        assertEquals(
                new Topology.Preference(List.of("mlx5_1"), List.of("mlx5_0")),
                topology.matrix().get("cuda:1"),
                "no shared switch: same NUMA node");
        assertEquals(
                Set.of("cpu:0", "cpu:1", "cuda:0", "cuda:1"),
                topology.matrix().keySet(),
                "only NVIDIA GPUs are cuda devices");
    }

    @Test
    void allowAndDenyListsFilterTheMatrixAndNicsServeWhenThereIsNoRdma() throws IOException {
        write("devices/system/node/node0/cpulist", "0-3");
        device("pci0000:00/0000:00:03.0", 0, null, null);
        device("pci0000:00/0000:00:04.0", 0, null, null);
        device("pci0000:00/0000:00:05.0", 0, null, null);
        link("class/net/eth0", "pci0000:00/0000:00:03.0");
        link("class/net/eth1", "pci0000:00/0000:00:04.0");
        link("class/net/eth2", "pci0000:00/0000:00:05.0");

        TopologyDiscovery discovery = new TopologyDiscovery(sys);
        assertEquals(
                List.of("eth0", "eth1", "eth2"),
                discovery.discover(Set.of(), Set.of()).matrix().get("cpu:0").preferred());
        assertEquals(
                List.of("eth0", "eth2"),
                discovery
                        .discover(Set.of(), Set.of("eth1"))
                        .matrix()
                        .get("cpu:0")
                        .preferred());
        assertEquals(
                List.of("eth1"),
                discovery
                        .discover(Set.of("eth1", "eth2"), Set.of("eth2"))
                        .matrix()
                        .get("cpu:0")
                        .preferred());
    }

    @Test
    void missingSysfsStillDescribesOneNode() {
        Topology topology = new TopologyDiscovery(sys.resolve("nothing-here")).discover(Set.of(), Set.of());
        assertEquals(1, topology.numaNodes().size());
        assertEquals(List.of(), topology.nics());
        assertEquals(
                new Topology.Preference(List.of(), List.of()), topology.matrix().get("cpu:0"));
    }

    private void device(String pciPath, int numa, String vendor, String pciClass) throws IOException {
        new SysfsTree(sys).device(pciPath, numa, vendor, pciClass);
    }

    private void link(String classEntry, String pciPath) throws IOException {
        new SysfsTree(sys).link(classEntry, pciPath);
    }

    private void write(String relative, String content) throws IOException {
        new SysfsTree(sys).write(relative, content);
    }
}
