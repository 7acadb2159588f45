package dev.crescent.master.ha;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import dev.crescent.master.ObjectEvent;
import dev.crescent.master.OpLogEntry;
import dev.crescent.protocol.proto.OpLogBatch;
import dev.crescent.protocol.proto.OpLogRecord;
import dev.crescent.transfer.SegmentTier;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The op-log's binary form: every entry survives it, and what earlier versions wrote as JSON is still read. */
class OpLogCodecTest {
    private final ObjectMapper json = new ObjectMapper();
    private final OpLogCodec codec = new OpLogCodec(json);
    /** How earlier versions wrote a list of entries. */
    private final ObjectWriter asJson = json.writerFor(new TypeReference<List<OpLogEntry>>() {});

    private static final OpLogEntry.Range DRAM = new OpLogEntry.Range("worker-1/seg", 1L << 33, 4096);
    private static final OpLogEntry.Range DISK = new OpLogEntry.Range("worker-1/seg-disk", 0, 4096);

    /** One of each kind, with every field that may be absent both absent and present. */
    private static List<OpLogEntry> everyKind() {
        return List.of(
                new OpLogEntry.Mount("worker-1/seg", "w-restarted", 1L << 34, "tcp://10.0.0.1:7000", 0x7EE7L),
                new OpLogEntry.Mount("worker-1/seg-disk", null, 1 << 20, null, 0, SegmentTier.DISK),
                new OpLogEntry.Commit(
                        "k1", 4096, "client-a", List.of(DRAM, DISK), true, false, 1_764_000_000_000L, 0xFFFF_FFFFL),
                new OpLogEntry.Commit("k2", 0, null, List.of(), false, true, 0, null),
                new OpLogEntry.Drop("k1", ObjectEvent.Kind.EVICTED),
                new OpLogEntry.Drop("k2"),
                new OpLogEntry.Move("k3", List.of(DISK)),
                new OpLogEntry.Unmount("worker-1/seg"));
    }

    @Test
    void everyKindOfEntryComesBackEqual() throws IOException {
        List<OpLogEntry> entries = everyKind();
        byte[] bytes = codec.encode(entries);
        assertEquals(OpLogCodec.BINARY, bytes[0], "written in the binary form");
        assertEquals(entries, codec.decode(bytes));
        assertEquals(List.of(), codec.decode(codec.encode(List.of())), "an empty list is still one byte, not none");
    }

    /** Logs and snapshots in etcd (and op-log files) written before the binary form survive the upgrade. */
    @Test
    void whatEarlierVersionsWroteAsJsonIsStillRead() throws IOException {
        List<OpLogEntry> entries = everyKind();
        assertEquals(entries, codec.decode(asJson.writeValueAsBytes(entries)));
        byte[] beforeContentsIds =
                "[{\"type\":\"MOUNT\",\"segment\":\"s\",\"owner\":\"o\",\"capacity\":64,\"endpoint\":\"\"}]"
                        .getBytes(StandardCharsets.UTF_8);
        assertEquals(List.of(new OpLogEntry.Mount("s", "o", 64, "", 0)), codec.decode(beforeContentsIds));
    }

    /** The reason for the form: etcd, the standbys' watch and every snapshot carry each entry. */
    @Test
    void aBatchOfCommitsIsUnderHalfItsJson() throws IOException {
        List<OpLogEntry> batch = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            batch.add(new OpLogEntry.Commit(
                    "bench/m3k2/" + i,
                    4096,
                    "bench-m3k2-" + i % 8,
                    List.of(new OpLogEntry.Range("worker-7f3a/seg", i * 4096L, 4096)),
                    false,
                    false,
                    1_764_000_000_000L + i,
                    null));
            batch.add(new OpLogEntry.Drop("bench/m3k1/" + i, ObjectEvent.Kind.EVICTED));
        }
        int binary = codec.encode(batch).length;
        int jsonBytes = asJson.writeValueAsBytes(batch).length;
        assertTrue(binary * 2 < jsonBytes, binary + " bytes in binary against " + jsonBytes + " as JSON");
    }

    /** A newer writer's kind of entry is not skipped: replaying past it would build another index than the writer's. */
    @Test
    void anEntryOfAnUnknownKindIsRefusedNotSkipped() {
        byte[] message = OpLogBatch.newBuilder()
                .addEntries(OpLogRecord.getDefaultInstance())
                .build()
                .toByteArray();
        byte[] bytes = new byte[message.length + 1];
        bytes[0] = OpLogCodec.BINARY;
        System.arraycopy(message, 0, bytes, 1, message.length);
        assertThrows(IOException.class, () -> codec.decode(bytes));
        assertThrows(IOException.class, () -> codec.decode(new byte[] {OpLogCodec.BINARY, 0x0A, 0x7F}), "cut short");
    }
}
