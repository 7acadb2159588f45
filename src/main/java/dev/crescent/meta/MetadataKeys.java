package dev.crescent.meta;

/** The key layout under {@code /crescent/<cluster>/} (DESIGN.md section 4). */
public final class MetadataKeys {
    private final String cluster;
    private final String root;

    public MetadataKeys(String cluster) {
        this.cluster = cluster;
        this.root = "/crescent/" + cluster + "/";
    }

    public String cluster() {
        return cluster;
    }

    public String segments() {
        return root + "segments/";
    }

    public String segment(String name) {
        return segments() + name;
    }

    public String workers() {
        return root + "workers/";
    }

    public String worker(String id) {
        return workers() + id;
    }

    /** Access rules added through the admin API, one JSON rule per name. */
    public String accessRules() {
        return root + "acl/rules/";
    }

    /** Tenant quotas set through the admin API, one JSON definition per tenant name. */
    public String tenants() {
        return root + "tenants/";
    }

    /** The elected master's address, bound to its election lease. */
    public String leader() {
        return root + "master/leader";
    }

    /** Every live master (leader and standbys), one key per address, each bound to its master's own lease. */
    public String masters() {
        return root + "masters/";
    }

    public String master(String address) {
        return masters() + address;
    }

    /** The leader's op-log: one entry per batch of index changes, by sequence number. */
    public String oplog() {
        return root + "oplog/";
    }

    /**
     * Where each live master takes the leader's op-log batches before they are in etcd (host:port of its replication
     * listener), one key per master address, bound to that master's roster lease.
     */
    public String oplogReplicas() {
        return root + "oplog-replicas/";
    }

    public String oplogReplica(String address) {
        return oplogReplicas() + address;
    }

    /**
     * A random token the current leader writes when it takes over: standbys take op-log batches, and hand over the
     * batches they hold, only to the master that shows it.
     */
    public String oplogToken() {
        return root + "master/oplog-token";
    }

    /** Compacted copies of the op-log: {@code snapshot/<sequence>/<chunk>} and a {@code done} marker. */
    public String snapshots() {
        return root + "snapshot/";
    }
}
