package dev.crescent.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Hosts on one machine: each a Linux network namespace with its own address, all joined by a bridge that lives in
 * a namespace of its own; the test JVM joins too, as host {@link #local()}. Processes started on a host see only
 * its network, so a partition between two hosts is real: {@link #partition} points each host's neighbour entry for
 * the other at a MAC address nobody has, and their packets vanish on the bridge as they would on a cut link (senders
 * time out; nothing answers "unreachable"). {@link #heal} removes the entries and traffic resumes.
 *
 * <p>Needs root (CAP_NET_ADMIN) and iproute2; {@link #available()} says whether this machine allows it.
 */
final class NetworkLab implements AutoCloseable {
    /** A host: its namespace (null for the test JVM's own) and its address on the lab's network. */
    record Host(String name, String namespace, String address, String device) {
        /** The command prefix that runs a program on this host. */
        List<String> launcher() {
            return namespace == null ? List.of() : List.of("ip", "netns", "exec", namespace);
        }
    }

    private static final String NOBODY_MAC = "02:00:00:00:00:01";

    private final String prefix;
    private final String subnet;
    private final String switchNamespace;
    private final Map<String, Host> hosts = new LinkedHashMap<>();
    private final Host local;

    private NetworkLab(String prefix, String subnet, Host local) {
        this.prefix = prefix;
        this.subnet = subnet;
        this.switchNamespace = prefix + "sw";
        this.local = local;
    }

    /** Whether this machine lets the tests make namespaces (root with CAP_NET_ADMIN, iproute2 installed). */
    static boolean available() {
        String probe = "crprobe" + ProcessHandle.current().pid();
        try {
            run("ip", "netns", "add", probe);
            run("ip", "netns", "del", probe);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** A lab with the named hosts (besides the local one), addresses .2, .3, ... in a private /24. */
    static NetworkLab create(String... names) throws IOException {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        String prefix =
                "cr" + Long.toString(ProcessHandle.current().pid() % 46656, 36) + (char) ('a' + random.nextInt(26));
        String subnet = "10." + (100 + random.nextInt(100)) + "." + random.nextInt(250) + ".";
        NetworkLab lab = new NetworkLab(prefix, subnet, new Host("local", null, subnet + "1", prefix + "l0"));
        try {
            run("ip", "netns", "add", lab.switchNamespace);
            run("ip", "-n", lab.switchNamespace, "link", "add", "br0", "type", "bridge");
            run("ip", "-n", lab.switchNamespace, "link", "set", "br0", "up");
            lab.plugIn(lab.local);
            for (int i = 0; i < names.length; i++) {
                Host host = new Host(names[i], prefix + names[i], subnet + (i + 2), prefix + "h" + i);
                run("ip", "netns", "add", host.namespace());
                run("ip", "-n", host.namespace(), "link", "set", "lo", "up");
                lab.plugIn(host);
                lab.hosts.put(host.name(), host);
            }
            return lab;
        } catch (IOException | RuntimeException e) {
            lab.close();
            throw e;
        }
    }

    Host host(String name) {
        Host host = hosts.get(name);
        if (host == null) {
            throw new IllegalArgumentException("no host " + name + " in the lab");
        }
        return host;
    }

    /** The test JVM's own host. */
    Host local() {
        return local;
    }

    /** Cuts a and b apart, both ways; each still reaches every other host. */
    void partition(Host a, Host b) throws IOException {
        blackhole(a, b);
        blackhole(b, a);
    }

    void heal(Host a, Host b) throws IOException {
        forget(a, b);
        forget(b, a);
    }

    @Override
    public void close() {
        for (Host host : hosts.values()) {
            quietly("ip", "netns", "del", host.namespace());
        }
        quietly("ip", "link", "del", local.device());
        quietly("ip", "netns", "del", switchNamespace);
    }

    /** A veth pair: one end in the host as its device with the host's address, the other on the bridge. */
    private void plugIn(Host host) throws IOException {
        String peer = host.device() + "s";
        run("ip", "link", "add", host.device(), "type", "veth", "peer", "name", peer);
        run("ip", "link", "set", peer, "netns", switchNamespace);
        run("ip", "-n", switchNamespace, "link", "set", peer, "master", "br0", "up");
        if (host.namespace() != null) {
            run("ip", "link", "set", host.device(), "netns", host.namespace());
        }
        run(in(host, "addr", "add", host.address() + "/24", "dev", host.device()));
        run(in(host, "link", "set", host.device(), "up"));
    }

    private void blackhole(Host from, Host to) throws IOException {
        run(in(from, "neigh", "replace", to.address(), "lladdr", NOBODY_MAC, "dev", from.device(), "nud", "permanent"));
    }

    private void forget(Host from, Host to) throws IOException {
        run(in(from, "neigh", "del", to.address(), "dev", from.device()));
    }

    /** An {@code ip} command run in the host's namespace. */
    private static String[] in(Host host, String... arguments) {
        List<String> command = new ArrayList<>(List.of("ip"));
        if (host.namespace() != null) {
            command.addAll(List.of("-n", host.namespace()));
        }
        command.addAll(List.of(arguments));
        return command.toArray(String[]::new);
    }

    static void run(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (process.exitValue() != 0) {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            throw new IOException(String.join(" ", command) + " failed: " + output.strip());
        }
    }

    private static void quietly(String... command) {
        try {
            run(command);
        } catch (IOException ignored) {
            // already gone
        }
    }
}
