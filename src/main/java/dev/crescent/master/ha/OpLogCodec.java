package dev.crescent.master.ha;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.crescent.master.ObjectEvent;
import dev.crescent.master.OpLogEntry;
import dev.crescent.protocol.proto.OpLogBatch;
import dev.crescent.protocol.proto.OpLogCommit;
import dev.crescent.protocol.proto.OpLogDrop;
import dev.crescent.protocol.proto.OpLogMount;
import dev.crescent.protocol.proto.OpLogMove;
import dev.crescent.protocol.proto.OpLogRange;
import dev.crescent.protocol.proto.OpLogRecord;
import dev.crescent.protocol.proto.OpLogUnmount;
import dev.crescent.transfer.SegmentTier;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of a list of op-log entries, for log batches, snapshot chunks, the standby stream and the op-log file
 * alike: a format byte ({@link #BINARY}) and an {@code OpLogBatch} ({@code oplog.proto}). Lists written as JSON by
 * earlier versions (a JSON array, so starting with {@code '['}) are still read, so a log or a snapshot in etcd
 * survives the upgrade. The binary form is about a third of the JSON's size, and etcd, the standbys' watch and
 * every snapshot carry each entry: see docs/DESIGN.md, "Durability at memory speed".
 */
final class OpLogCodec {
    /** The first byte of the binary form; JSON, the earlier form, starts with '['. */
    static final byte BINARY = 1;

    private static final TypeReference<List<OpLogEntry>> ENTRIES = new TypeReference<>() {};
    private final ObjectReader json;

    OpLogCodec(ObjectMapper json) {
        this.json = json.readerFor(ENTRIES);
    }

    byte[] encode(List<OpLogEntry> entries) {
        OpLogBatch.Builder batch = OpLogBatch.newBuilder();
        for (OpLogEntry entry : entries) {
            batch.addEntries(recordOf(entry));
        }
        OpLogBatch message = batch.build();
        byte[] bytes = new byte[1 + message.getSerializedSize()];
        bytes[0] = BINARY;
        CodedOutputStream out = CodedOutputStream.newInstance(bytes, 1, bytes.length - 1);
        try {
            message.writeTo(out);
        } catch (IOException e) {
            throw new IllegalStateException("an array sized for the message was too small", e);
        }
        out.checkNoSpaceLeft();
        return bytes;
    }

    List<OpLogEntry> decode(byte[] bytes) throws IOException {
        if (bytes.length == 0 || bytes[0] != BINARY) {
            return json.readValue(bytes);
        }
        OpLogBatch batch;
        try {
            batch = OpLogBatch.parseFrom(CodedInputStream.newInstance(bytes, 1, bytes.length - 1));
        } catch (InvalidProtocolBufferException e) {
            throw new IOException("unreadable op-log entries: " + e.getMessage(), e);
        }
        List<OpLogEntry> entries = new ArrayList<>(batch.getEntriesCount());
        for (OpLogRecord record : batch.getEntriesList()) {
            entries.add(entryOf(record));
        }
        return entries;
    }

    private static OpLogRecord recordOf(OpLogEntry entry) {
        OpLogRecord.Builder record = OpLogRecord.newBuilder();
        switch (entry) {
            case OpLogEntry.Commit c -> {
                OpLogCommit.Builder commit = OpLogCommit.newBuilder()
                        .setKey(c.key())
                        .setSize(c.size())
                        .setHardPin(c.hardPin())
                        .setSoftPin(c.softPin())
                        .setCompletedMillis(c.completedMillis());
                c.replicas().forEach(r -> commit.addReplicas(rangeOf(r)));
                if (c.owner() != null) {
                    commit.setOwner(c.owner());
                }
                if (c.crc32c() != null) {
                    commit.setCrc32C(c.crc32c());
                }
                record.setCommit(commit);
            }
            case OpLogEntry.Drop d ->
                record.setDrop(OpLogDrop.newBuilder()
                        .setKey(d.key())
                        .setKind(
                                switch (d.kind()) {
                                    case REMOVED -> OpLogDrop.Kind.REMOVED;
                                    case EVICTED -> OpLogDrop.Kind.EVICTED;
                                    case STORED ->
                                        throw new IllegalArgumentException("a drop of '" + d.key() + "' said STORED");
                                }));
            case OpLogEntry.Move m -> {
                OpLogMove.Builder move = OpLogMove.newBuilder().setKey(m.key());
                m.replicas().forEach(r -> move.addReplicas(rangeOf(r)));
                record.setMove(move);
            }
            case OpLogEntry.Mount m -> {
                OpLogMount.Builder mount = OpLogMount.newBuilder()
                        .setSegment(m.segment())
                        .setCapacity(m.capacity())
                        .setContentsId(m.contentsId())
                        .setTier(m.tier().wireName());
                if (m.owner() != null) {
                    mount.setOwner(m.owner());
                }
                if (m.endpoint() != null) {
                    mount.setEndpoint(m.endpoint());
                }
                record.setMount(mount);
            }
            case OpLogEntry.Unmount u ->
                record.setUnmount(OpLogUnmount.newBuilder().setSegment(u.segment()));
        }
        return record.build();
    }

    private static OpLogEntry entryOf(OpLogRecord record) throws IOException {
        return switch (record.getEntryCase()) {
            case COMMIT -> {
                OpLogCommit c = record.getCommit();
                yield new OpLogEntry.Commit(
                        c.getKey(),
                        c.getSize(),
                        c.hasOwner() ? c.getOwner() : null,
                        rangesOf(c.getReplicasList()),
                        c.getHardPin(),
                        c.getSoftPin(),
                        c.getCompletedMillis(),
                        c.hasCrc32C() ? c.getCrc32C() : null);
            }
            case DROP ->
                new OpLogEntry.Drop(
                        record.getDrop().getKey(),
                        record.getDrop().getKind() == OpLogDrop.Kind.EVICTED
                                ? ObjectEvent.Kind.EVICTED
                                : ObjectEvent.Kind.REMOVED);
            case MOVE ->
                new OpLogEntry.Move(
                        record.getMove().getKey(), rangesOf(record.getMove().getReplicasList()));
            case MOUNT -> {
                OpLogMount m = record.getMount();
                yield new OpLogEntry.Mount(
                        m.getSegment(),
                        m.hasOwner() ? m.getOwner() : null,
                        m.getCapacity(),
                        m.hasEndpoint() ? m.getEndpoint() : null,
                        m.getContentsId(),
                        SegmentTier.parse(m.getTier()));
            }
            case UNMOUNT -> new OpLogEntry.Unmount(record.getUnmount().getSegment());
            // A newer writer's kind of entry: replaying past it would build a different index than that writer's.
            case ENTRY_NOT_SET -> throw new IOException("an op-log entry of a kind this version does not know");
        };
    }

    private static OpLogRange rangeOf(OpLogEntry.Range range) {
        return OpLogRange.newBuilder()
                .setSegment(range.segment())
                .setOffset(range.offset())
                .setLength(range.length())
                .build();
    }

    private static List<OpLogEntry.Range> rangesOf(List<OpLogRange> ranges) {
        List<OpLogEntry.Range> out = new ArrayList<>(ranges.size());
        for (OpLogRange r : ranges) {
            out.add(new OpLogEntry.Range(r.getSegment(), r.getOffset(), r.getLength()));
        }
        return out;
    }
}
