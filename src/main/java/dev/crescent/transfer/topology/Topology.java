package dev.crescent.transfer.topology;

import io.quarkus.runtime.annotations.RegisterForReflection;

import java.util.List;
import java.util.Map;

/**
 * What this machine offers the transfer engine, and which devices to use for memory at each location.
 *
 * @param matrix location ({@code cpu:N}, {@code cuda:N}) to its preferred and fallback devices
 */
@RegisterForReflection
public record Topology(
        List<NumaNode> numaNodes,
        List<Device> nics,
        List<Device> rdmaDevices,
        List<Gpu> gpus,
        Map<String, Preference> matrix) {

    @RegisterForReflection
    public record NumaNode(int id, String cpus) {}

    /** A NIC or RDMA device. */
    @RegisterForReflection
    public record Device(String name, String kind, String pciPath, int numaNode) {}

    @RegisterForReflection
    public record Gpu(String pciAddress, String vendor, String pciPath, int numaNode) {}

    @RegisterForReflection
    public record Preference(List<String> preferred, List<String> fallback) {}
}
