package dev.crescent.transfer.rdma;

import dev.crescent.common.StoreException;
import dev.crescent.transfer.topology.Topology;
import org.jboss.logging.Logger;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The RDMA devices this process uses (opened once, shared by the client transport and the serving side), their
 * health, and the memory registered with them. {@link #open} fails with a TRANSFER_FAIL that names the cause when
 * RDMA cannot run here: no shim in this build, no libibverbs, no device, or none left after the allow/deny lists.
 */
public final class RdmaRuntime implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(RdmaRuntime.class);

    final RdmaShim shim;
    final RdmaSettings settings;
    final Map<String, RdmaDevice> devices;
    final RailHealth health;
    final SlicePlanner planner;
    private final Topology.Preference rails;
    private final List<LocalRegistration> registrations = new ArrayList<>();

    private RdmaRuntime(
            RdmaShim shim, RdmaSettings settings, Map<String, RdmaDevice> devices, Topology.Preference rails) {
        this.shim = shim;
        this.settings = settings;
        this.devices = devices;
        this.rails = rails;
        this.health = new RailHealth(settings.railErrorThreshold(), settings.railPause(), System::nanoTime);
        this.planner = new SlicePlanner(settings.sliceBytes(), health);
    }

    public static RdmaRuntime open(RdmaSettings settings, Topology topology) {
        RdmaShim shim = RdmaShim.load(settings.shimPath());
        List<String> found = new ArrayList<>();
        for (int i = 0, n = shim.deviceCount(); i < n; i++) {
            found.add(shim.deviceName(i));
        }
        if (found.isEmpty()) {
            throw RdmaShim.unavailable("no RDMA device (libibverbs lists none; /sys/class/infiniband is empty or "
                    + "missing): this host has no RDMA NIC, or its driver (e.g. mlx5_ib) is not loaded");
        }
        List<String> chosen = usable(found, settings.deviceAllow(), settings.deviceDeny());
        if (chosen.isEmpty()) {
            throw RdmaShim.unavailable("no RDMA device left after device-allow " + settings.deviceAllow()
                    + " and device-deny " + settings.deviceDeny() + "; found " + found);
        }
        Map<String, RdmaDevice> opened = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        for (String name : chosen) {
            try {
                opened.put(
                        name,
                        new RdmaDevice(shim, name, settings.port(), settings.gidIndex(), settings.queueDepth() * 4));
            } catch (RuntimeException e) {
                failures.add(e.getMessage());
                LOG.warnf("RDMA device %s is not used: %s", name, e.getMessage());
            }
        }
        if (opened.isEmpty()) {
            throw RdmaShim.unavailable("no RDMA device could be opened: " + failures);
        }
        return new RdmaRuntime(shim, settings, opened, rails(topology, opened.keySet()));
    }

    /**
     * {@link #open}, or, when RDMA cannot run here and {@code fallbackToTcp} allows it, null after telling
     * {@code warn} why (the engine then moves everything over TCP).
     */
    public static RdmaRuntime openOrFallBack(RdmaSettings settings, Topology topology, Consumer<String> warn) {
        try {
            return open(settings, topology);
        } catch (StoreException e) {
            if (!settings.fallbackToTcp()) {
                throw e;
            }
            warn.accept(e.getMessage() + "; falling back to TCP (crescent.transfer.rdma.fallback-to-tcp)");
            return null;
        }
    }

    /** Devices named by libibverbs that the allow and deny lists let through, in the order found. */
    static List<String> usable(List<String> found, Set<String> allow, Set<String> deny) {
        return found.stream()
                .filter(d -> allow.isEmpty() || allow.contains(d))
                .filter(d -> !deny.contains(d))
                .toList();
    }

    /**
     * The topology's preference for CPU memory of NUMA node 0 (where segments and client buffers live unless
     * pinned elsewhere), narrowed to the opened devices; devices the topology does not list come last.
     */
    static Topology.Preference rails(Topology topology, Set<String> opened) {
        Topology.Preference preference =
                topology == null ? null : topology.matrix().get("cpu:0");
        List<String> preferred = new ArrayList<>();
        List<String> fallback = new ArrayList<>();
        if (preference != null) {
            preference.preferred().stream().filter(opened::contains).forEach(preferred::add);
            preference.fallback().stream().filter(opened::contains).forEach(fallback::add);
        }
        opened.stream()
                .filter(d -> !preferred.contains(d) && !fallback.contains(d))
                .forEach(d -> (preferred.isEmpty() ? preferred : fallback).add(d));
        return new Topology.Preference(preferred, fallback);
    }

    public Topology.Preference rails() {
        return rails;
    }

    /** The device names this process serves and reaches RDMA through, for its endpoint string. */
    public List<String> deviceNames() {
        return List.copyOf(devices.keySet());
    }

    /** Registers {@code memory} with every device, in chunks the devices accept; unregister it when done. */
    public LocalRegistration register(MemorySegment memory) {
        LocalRegistration registration = new LocalRegistration(this, memory);
        synchronized (registrations) {
            registrations.add(registration);
        }
        return registration;
    }

    void forget(LocalRegistration registration) {
        synchronized (registrations) {
            registrations.remove(registration);
        }
    }

    /** The registration holding all of {@code memory}, or null (then RDMA cannot move it: TCP will). */
    public LocalRegistration registrationOf(MemorySegment memory) {
        if (!memory.isNative()) {
            return null;
        }
        synchronized (registrations) {
            for (LocalRegistration registration : registrations) {
                if (registration.contains(memory)) {
                    return registration;
                }
            }
        }
        return null;
    }

    @Override
    public void close() {
        List<LocalRegistration> all;
        synchronized (registrations) {
            all = new ArrayList<>(registrations);
        }
        all.forEach(LocalRegistration::close);
        devices.values().forEach(RdmaDevice::close);
    }
}
