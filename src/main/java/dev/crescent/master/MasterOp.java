package dev.crescent.master;

/** The master's operations, as counted in {@code crescent_master_requests_total{op}}. */
public enum MasterOp {
    PUT_START,
    PUT_END,
    PUT_REVOKE,
    GET_REPLICA_LIST,
    EXIST,
    REMOVE,
    REMOVE_ALL,
    BATCH_PUT_START,
    BATCH_PUT_END,
    BATCH_PUT_REVOKE,
    BATCH_GET_REPLICA_LIST,
    BATCH_EXIST,
    BATCH_REMOVE,
    MOUNT_SEGMENT,
    UNMOUNT_SEGMENT,
    REMOUNT_SEGMENTS,
    HEARTBEAT,
    RELEASE_LEASES;

    /** Metric tag value: lower case, as on the wire. */
    public String tag() {
        return name().toLowerCase();
    }
}
