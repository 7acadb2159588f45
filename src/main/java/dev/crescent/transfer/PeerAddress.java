package dev.crescent.transfer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How to reach a segment, carried in replica descriptors as one string
 * ({@code host=<boot id>,tcp=<host:port>,tls=1,shm=<file>,rdma=<device+device>,auth=ticket}): the transfer engine picks the
 * fastest path it can use.
 * An empty string means the segment lives in the JVM that published it.
 *
 * @param hostId  identifies the machine (kernel boot id); equal ids mean shared memory may work
 * @param tcp     host:port of the worker's transfer server, or empty
 * @param shmFile the shared-memory file of the segment, or empty
 * @param rdma     the RDMA devices the segment is served through ('+'-separated; the handshake goes over tcp), or
 *                 empty
 * @param ticketed whether its transfer server serves only requests with a master-signed ticket ({@code auth=ticket})
 * @param tls      whether its transfer server speaks TLS only ({@code tls=1})
 */
public record PeerAddress(String hostId, String tcp, String shmFile, String rdma, boolean ticketed, boolean tls) {
    public static final PeerAddress IN_PROCESS = new PeerAddress("", "", "", "", false, false);

    public PeerAddress(String hostId, String tcp, String shmFile) {
        this(hostId, tcp, shmFile, "", false, false);
    }

    /** Endpoints are few (one per worker) and parsed on every request: keep the parsed forms. */
    private static final ConcurrentHashMap<String, PeerAddress> PARSED = new ConcurrentHashMap<>();

    private static final int MAX_CACHED = 4096;
    private static final String TICKET = "ticket";

    public static PeerAddress parse(String endpoint) {
        if (endpoint == null || endpoint.isBlank()) {
            return IN_PROCESS;
        }
        PeerAddress cached = PARSED.get(endpoint);
        if (cached != null) {
            return cached;
        }
        if (PARSED.size() >= MAX_CACHED) {
            PARSED.clear();
        }
        PeerAddress parsed = parseUncached(endpoint);
        PARSED.put(endpoint, parsed);
        return parsed;
    }

    private static PeerAddress parseUncached(String endpoint) {
        Map<String, String> parts = new LinkedHashMap<>();
        for (String part : endpoint.split(",")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                parts.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
            }
        }
        return new PeerAddress(
                parts.getOrDefault("host", ""),
                parts.getOrDefault("tcp", ""),
                parts.getOrDefault("shm", ""),
                parts.getOrDefault("rdma", ""),
                TICKET.equals(parts.get("auth")),
                "1".equals(parts.get("tls")));
    }

    public String format() {
        StringBuilder out = new StringBuilder();
        append(out, "host", hostId);
        append(out, "tcp", tcp);
        append(out, "tls", tls ? "1" : "");
        append(out, "shm", shmFile);
        append(out, "rdma", rdma);
        append(out, "auth", ticketed ? TICKET : "");
        return out.toString();
    }

    private static void append(StringBuilder out, String name, String value) {
        if (value != null && !value.isEmpty()) {
            out.append(out.isEmpty() ? "" : ",").append(name).append('=').append(value);
        }
    }
}
