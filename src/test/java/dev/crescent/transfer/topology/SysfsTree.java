package dev.crescent.transfer.topology;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A synthetic sysfs tree under a test's directory: NUMA nodes, PCI devices, and class entries linked to them. */
public final class SysfsTree {
    private final Path root;

    public SysfsTree(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public SysfsTree numaNode(int id, String cpus) throws IOException {
        return write("devices/system/node/node" + id + "/cpulist", cpus);
    }

    /** A PCI device on a NUMA node; with a vendor (and PCI class) it is listed under bus/pci/devices too. */
    public SysfsTree device(String pciPath, int numa, String vendor, String pciClass) throws IOException {
        Path dir = root.resolve("devices/" + pciPath);
        write(root.relativize(dir.resolve("numa_node")).toString(), Integer.toString(numa));
        if (vendor != null) {
            write(root.relativize(dir.resolve("vendor")).toString(), vendor);
            write(root.relativize(dir.resolve("class")).toString(), pciClass);
            String address = dir.getFileName().toString();
            Files.createDirectories(root.resolve("bus/pci/devices"));
            Files.createSymbolicLink(root.resolve("bus/pci/devices/" + address), dir);
        }
        return this;
    }

    /** A class entry (class/net/eth0, class/infiniband/mlx5_0) whose device is the PCI device at {@code pciPath}. */
    public SysfsTree link(String classEntry, String pciPath) throws IOException {
        Path entry = root.resolve(classEntry);
        Files.createDirectories(entry);
        Files.createSymbolicLink(entry.resolve("device"), root.resolve("devices/" + pciPath));
        return this;
    }

    public SysfsTree write(String relative, String content) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content + "\n");
        return this;
    }
}
