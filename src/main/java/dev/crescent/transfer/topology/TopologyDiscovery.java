package dev.crescent.transfer.topology;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Reads the machine's layout from sysfs (a root directory, so tests can hand it a synthetic tree): NUMA nodes,
 * network interfaces and RDMA devices with their NUMA node and PCI path, and GPUs by PCI vendor id. From that it
 * builds the priority matrix transports use to pick NICs for a memory location.
 */
public final class TopologyDiscovery {
    /** PCI vendor ids of GPU makers: NVIDIA, AMD, Intel. */
    private static final Map<String, String> GPU_VENDORS =
            Map.of("0x10de", "nvidia", "0x1002", "amd", "0x8086", "intel");

    private static final String DISPLAY_CLASS_PREFIX = "0x03";

    private final Path sysfs;

    public TopologyDiscovery(Path sysfsRoot) {
        this.sysfs = sysfsRoot;
    }

    /**
     * @param nicAllow when not empty, only these devices (NIC or RDMA device names) are used
     * @param nicDeny  these devices are never used
     */
    public Topology discover(Set<String> nicAllow, Set<String> nicDeny) {
        List<Topology.NumaNode> numa = numaNodes();
        List<Topology.Device> nics = devices(sysfs.resolve("class/net"), "nic");
        List<Topology.Device> rdma = devices(sysfs.resolve("class/infiniband"), "rdma");
        List<Topology.Gpu> gpus = gpus();
        List<Topology.Device> usable = (rdma.isEmpty() ? nics : rdma)
                .stream()
                        .filter(d -> nicAllow.isEmpty() || nicAllow.contains(d.name()))
                        .filter(d -> !nicDeny.contains(d.name()))
                        .toList();
        Map<String, Topology.Preference> matrix = new LinkedHashMap<>();
        for (Topology.NumaNode node : numa) {
            matrix.put("cpu:" + node.id(), split(usable, d -> d.numaNode() == node.id()));
        }
        int cudaIndex = 0;
        for (Topology.Gpu gpu : gpus) {
            if (!gpu.vendor().equals("nvidia")) {
                continue;
            }
            int closest = usable.stream()
                    .mapToInt(d -> sharedPciDepth(d.pciPath(), gpu.pciPath()))
                    .max()
                    .orElse(0);
            // Devices behind the same PCI switch as the GPU first; with none closer than the root, same NUMA node.
            matrix.put(
                    "cuda:" + cudaIndex++,
                    closest > 1
                            ? split(usable, d -> sharedPciDepth(d.pciPath(), gpu.pciPath()) == closest)
                            : split(usable, d -> d.numaNode() == gpu.numaNode()));
        }
        return new Topology(numa, nics, rdma, gpus, matrix);
    }

    private static Topology.Preference split(
            List<Topology.Device> devices, java.util.function.Predicate<Topology.Device> preferred) {
        List<String> first = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (Topology.Device d : devices) {
            (preferred.test(d) ? first : rest).add(d.name());
        }
        return new Topology.Preference(first, rest);
    }

    /** Number of leading PCI path components two devices share (0: different roots). */
    static int sharedPciDepth(String a, String b) {
        if (a.isEmpty() || b.isEmpty()) {
            return 0;
        }
        String[] x = a.split("/");
        String[] y = b.split("/");
        int depth = 0;
        while (depth < Math.min(x.length, y.length) - 1 && x[depth].equals(y[depth])) {
            depth++;
        }
        return depth;
    }

    private List<Topology.NumaNode> numaNodes() {
        Path nodes = sysfs.resolve("devices/system/node");
        List<Topology.NumaNode> found = new ArrayList<>();
        for (Path node : list(nodes)) {
            String name = node.getFileName().toString();
            if (name.matches("node\\d+")) {
                found.add(new Topology.NumaNode(Integer.parseInt(name.substring(4)), read(node.resolve("cpulist"))));
            }
        }
        if (found.isEmpty()) {
            found.add(new Topology.NumaNode(0, "0-" + (Runtime.getRuntime().availableProcessors() - 1)));
        }
        found.sort(Comparator.comparingInt(Topology.NumaNode::id));
        return found;
    }

    /** Entries of a sysfs class that are backed by a PCI device (virtual interfaces like lo have none). */
    private List<Topology.Device> devices(Path classDir, String kind) {
        List<Topology.Device> found = new ArrayList<>();
        for (Path entry : list(classDir)) {
            Path device = entry.resolve("device");
            if (!Files.exists(device)) {
                continue;
            }
            found.add(new Topology.Device(entry.getFileName().toString(), kind, pciPath(device), numaNode(device)));
        }
        found.sort(Comparator.comparing(Topology.Device::name));
        return found;
    }

    private List<Topology.Gpu> gpus() {
        List<Topology.Gpu> found = new ArrayList<>();
        for (Path device : list(sysfs.resolve("bus/pci/devices"))) {
            String vendor = GPU_VENDORS.get(read(device.resolve("vendor")));
            if (vendor != null && read(device.resolve("class")).startsWith(DISPLAY_CLASS_PREFIX)) {
                found.add(new Topology.Gpu(device.getFileName().toString(), vendor, pciPath(device), numaNode(device)));
            }
        }
        found.sort(Comparator.comparing(Topology.Gpu::pciAddress));
        return found;
    }

    /** The device's place in the PCI tree, e.g. {@code pci0000:3a/0000:3a:00.0/0000:3b:00.0}. */
    private String pciPath(Path device) {
        try {
            String real = device.toRealPath().toString();
            int at = real.indexOf("/devices/pci");
            return at < 0 ? "" : real.substring(at + "/devices/".length());
        } catch (IOException e) {
            return "";
        }
    }

    private int numaNode(Path device) {
        try {
            int node = Integer.parseInt(read(device.resolve("numa_node")));
            return Math.max(node, 0);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            return "";
        }
    }
}
