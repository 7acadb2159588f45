package dev.crescent.common;

/** What an access rule lets a caller do. */
public enum Right {
    /** Exist, GetReplicaList, GET/HEAD of objects. */
    READ,
    /** PutStart/End/Revoke, upserts, removes. */
    WRITE,
    /** Contribute memory: mount, unmount and remount segments, heartbeats (workers, clients that mount). */
    MOUNT,
    /** Everything, including RemoveAll, the admin API and editing the access rules. */
    ADMIN;

    /** Whether holding this right grants {@code wanted}. */
    public boolean grants(Right wanted) {
        return this == ADMIN || this == wanted;
    }
}
