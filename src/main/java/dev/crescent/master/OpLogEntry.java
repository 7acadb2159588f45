package dev.crescent.master;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.crescent.transfer.SegmentTier;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.util.List;

/**
 * One durable change of the master's state, as the leader appends it to the op-log and standbys replay it. Only
 * what must survive a failover is logged: mounted segments and complete objects with their exact ranges
 * (unfinished puts are their writers' to retry). Written in binary (oplog.proto); in the JSON of earlier versions,
 * still read, each entry names its kind in {@code type}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = OpLogEntry.Mount.class, name = "MOUNT"),
    @JsonSubTypes.Type(value = OpLogEntry.Unmount.class, name = "UNMOUNT"),
    @JsonSubTypes.Type(value = OpLogEntry.Commit.class, name = "COMMIT"),
    @JsonSubTypes.Type(value = OpLogEntry.Drop.class, name = "DROP"),
    @JsonSubTypes.Type(value = OpLogEntry.Move.class, name = "MOVE")
})
@RegisterForReflection(
        targets = {
            OpLogEntry.Mount.class,
            OpLogEntry.Unmount.class,
            OpLogEntry.Commit.class,
            OpLogEntry.Drop.class,
            OpLogEntry.Move.class,
            OpLogEntry.Range.class
        })
public sealed interface OpLogEntry {

    /**
     * A segment joined the pool, or a new process took over one whose owner died (same contents id: a worker that
     * restarted and adopted its segment file), keeping its objects.
     *
     * @param contentsId what the memory holds (see {@code SegmentDescriptor}); 0 for none, and in entries written
     *                   before it existed
     * @param tier       DRAM or DISK (entries written before tiers existed read DRAM)
     */
    record Mount(String segment, String owner, long capacity, String endpoint, long contentsId, SegmentTier tier)
            implements OpLogEntry {

        public Mount {
            tier = tier == null ? SegmentTier.DRAM : tier;
        }

        public Mount(String segment, String owner, long capacity, String endpoint, long contentsId) {
            this(segment, owner, capacity, endpoint, contentsId, SegmentTier.DRAM);
        }

        public Mount(String segment, String owner, long capacity, String endpoint) {
            this(segment, owner, capacity, endpoint, 0);
        }
    }

    /** A segment left the pool; replicas on it are gone. */
    record Unmount(String segment) implements OpLogEntry {}

    /**
     * An object became complete (readable).
     *
     * @param replicas every replica's segment and range
     * @param crc32c   the bytes' CRC32C when the writer recorded one, else null
     */
    record Commit(
            String key,
            long size,
            String owner,
            List<Range> replicas,
            boolean hardPin,
            boolean softPin,
            long completedMillis,
            Long crc32c)
            implements OpLogEntry {
        public Commit {
            replicas = List.copyOf(replicas);
        }

        /** This commit with only the replicas {@code kept}. */
        public Commit withReplicas(List<Range> kept) {
            return new Commit(key, size, owner, kept, hardPin, softPin, completedMillis, crc32c);
        }

        /** The segments its replicas are on, as object events name them. */
        @JsonIgnore
        public List<String> segments() {
            return ObjectEvent.segmentsOf(replicas, Range::segment);
        }
    }

    /**
     * A complete object is gone (removed, evicted, dropped, or being overwritten).
     *
     * @param kind how, as watchers see it: REMOVED or EVICTED (entries written before it was recorded read REMOVED)
     */
    record Drop(String key, ObjectEvent.Kind kind) implements OpLogEntry {
        public Drop {
            kind = kind == null ? ObjectEvent.Kind.REMOVED : kind;
        }

        public Drop(String key) {
            this(key, ObjectEvent.Kind.REMOVED);
        }
    }

    /**
     * A complete object's bytes moved between tiers (offloaded to a disk segment, or promoted back to DRAM): the
     * object is the same, its replicas are now these.
     */
    record Move(String key, List<Range> replicas) implements OpLogEntry {
        public Move {
            replicas = List.copyOf(replicas);
        }
    }

    /** A replica's place: segment name, byte offset, length. */
    record Range(String segment, long offset, long length) {}
}
