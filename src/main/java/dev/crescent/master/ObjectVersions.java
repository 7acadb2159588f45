package dev.crescent.master;

import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.VersionTable;
import dev.crescent.transfer.VersionTables;

import java.util.ArrayList;
import java.util.List;

/**
 * The versions of complete objects in the {@link VersionTable}s of the segments this master maps (issue 20): a
 * version is published when a put commits and withdrawn, inside the key's atomic section, before anything else can
 * become of the object's memory (remove, eviction, upsert, its segment unmounted). Same-host readers that map the
 * segment may then cache the object's location and read it again without asking, for as long as the word holds the
 * version. A master publishes only while it alone decides what becomes of those objects and readers need not be
 * asked for rights (see {@link ObjectBook#publishesVersions}).
 */
final class ObjectVersions {
    private volatile VersionTables tables = VersionTables.NONE;

    void attach(VersionTables tables) {
        this.tables = tables;
    }

    /** @return {@code version} once published in at least one replica's table, else 0 (no replica has one here) */
    long publish(List<Replica> replicas, long version) {
        boolean published = false;
        for (Replica replica : replicas) {
            published |= publish(replica, version) >= 0;
        }
        return published ? version : 0;
    }

    /** Publishes {@code version} at the slot of {@code replica}'s range. @return the slot, or -1 (no table here) */
    long publish(Replica replica, long version) {
        VersionTable table = tableOf(replica.segment());
        if (table == null) {
            return -1;
        }
        long slot = table.slot(replica.range().offset());
        table.publish(slot, version);
        return slot;
    }

    /** Withdraws the object's version from every replica's table: from now on no cached location of it is read. */
    void withdraw(ObjectMeta meta) {
        if (meta.version == 0) {
            return;
        }
        for (Replica replica : meta.replicas) {
            withdraw(replica, meta.version);
        }
        meta.version = 0;
    }

    /** Withdraws {@code version} from the slot of {@code replica}'s range, if it still holds it. */
    void withdraw(Replica replica, long version) {
        VersionTable table = tableOf(replica.segment());
        if (table != null) {
            table.withdraw(table.slot(replica.range().offset()), version);
        }
    }

    /** The descriptors of {@code live} (in order) with the places of their version words, for a version. */
    List<ReplicaDescriptor> withSlots(List<Replica> live, List<ReplicaDescriptor> described, long version) {
        if (version == 0) {
            return described;
        }
        List<ReplicaDescriptor> slotted = new ArrayList<>(described.size());
        for (int i = 0; i < described.size(); i++) {
            VersionTable table = tableOf(live.get(i).segment());
            slotted.add(
                    table == null
                            ? described.get(i)
                            : described
                                    .get(i)
                                    .withVersionSlot(
                                            table.slot(live.get(i).range().offset())));
        }
        return slotted;
    }

    /**
     * Withdraws every version in the segment's table: it was mounted with nothing in it (any version there is an
     * earlier master's), or it leaves the pool (its objects dropped, spaces granted on it void).
     */
    void clear(MountedSegment segment) {
        VersionTable table = tableOf(segment);
        if (table != null) {
            table.clear();
        }
    }

    /** The segment left the pool (its objects' versions withdrawn): its table is no longer needed here. */
    void close(MountedSegment segment) {
        segment.versionTable = null;
        tables.close(segment.name());
    }

    /**
     * The segment's table, looked up in {@link #tables} only when the segment was handed over to another endpoint (or
     * the tables were attached) since the last look: a commit, a withdrawal and a replica list each ask for it, and a
     * map lookup with an endpoint compare each time is work the segment can remember instead.
     */
    private VersionTable tableOf(MountedSegment segment) {
        VersionTables current = tables;
        String endpoint = segment.endpoint();
        Found found = segment.versionTable;
        if (found == null || found.tables() != current || found.endpoint() != endpoint) {
            found = new Found(current, endpoint, current.open(segment.name(), endpoint, segment.capacity()));
            segment.versionTable = found;
        }
        return found.table();
    }

    /** What {@code tables} gave for a segment at {@code endpoint} (compared by identity: a hand-over sets a new one). */
    record Found(VersionTables tables, String endpoint, VersionTable table) {}
}
