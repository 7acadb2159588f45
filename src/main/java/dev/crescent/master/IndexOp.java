package dev.crescent.master;

import io.quarkus.runtime.annotations.RegisterForReflection;

import java.util.List;

/**
 * One durable change of the master's state, as the leader writes it to the op-log and standbys replay it. Only what
 * must survive a failover is logged: mounted segments and complete objects with their exact ranges (unfinished puts
 * are their writers' to retry).
 *
 * @param type     which change; the other fields are those the type needs, the rest null or 0
 * @param replicas COMMIT: every replica's segment and range
 */
@RegisterForReflection
public record IndexOp(Type type, String key, String segment, String owner, long capacity, String endpoint,
                      long size, List<Range> replicas, boolean hardPin, boolean softPin, long completedMillis,
                      Long crc32c) {

    public enum Type { MOUNT, UNMOUNT, COMMIT, DROP }

    /** A replica's place: segment name, byte offset, length. */
    @RegisterForReflection
    public record Range(String segment, long offset, long length) {
    }

    public static IndexOp mount(String segment, String owner, long capacity, String endpoint) {
        return new IndexOp(Type.MOUNT, null, segment, owner, capacity, endpoint, 0, null, false, false, 0, null);
    }

    public static IndexOp unmount(String segment) {
        return new IndexOp(Type.UNMOUNT, null, segment, null, 0, null, 0, null, false, false, 0, null);
    }

    /** @param crc32c the bytes' CRC32C when the writer recorded one, else null */
    public static IndexOp commit(String key, long size, String owner, List<Range> replicas, boolean hardPin,
                                 boolean softPin, long completedMillis, Long crc32c) {
        return new IndexOp(Type.COMMIT, key, null, owner, 0, null, size, List.copyOf(replicas), hardPin, softPin,
                completedMillis, crc32c);
    }

    public static IndexOp drop(String key) {
        return new IndexOp(Type.DROP, key, null, null, 0, null, 0, null, false, false, 0, null);
    }
}
