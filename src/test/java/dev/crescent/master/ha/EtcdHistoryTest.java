package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.ReplicatedIndex;
import dev.crescent.meta.EtcdProcess;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.etcd.EtcdMetadataStore;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * etcd keeps every value a key ever had until its history is compacted, and counts that history against its space
 * quota: the op-log writes and deletes batches and snapshot chunks without end, so a leader that never compacted
 * would fill the default 2 GiB quota in minutes of puts, after which etcd refuses every write. Against a real etcd:
 * after its snapshots the leader has etcd forget the history behind the previous one, and a standby still rebuilds.
 */
class EtcdHistoryTest {
    @Test
    void theLeaderHasEtcdForgetTheHistoryBehindItsSnapshots() throws Exception {
        ObjectMapper json = new ObjectMapper();
        MetadataKeys keys = new MetadataKeys("history-" + UUID.randomUUID());
        try (EtcdProcess etcd = EtcdProcess.start();
                EtcdMetadataStore store = new EtcdMetadataStore(List.of(etcd.endpoint()), Duration.ofSeconds(5));
                Client client = Client.builder().endpoints(etcd.endpoint()).build()) {
            OpLogSnapshots snapshots = new OpLogSnapshots(store, keys.snapshots(), keys.oplog(), json);
            long leading = store.put(keys.leader(), "me".getBytes(StandardCharsets.UTF_8), 0);
            EtcdOpLog opLog = new EtcdOpLog(
                    store,
                    keys.oplog(),
                    keys.leader(),
                    leading,
                    1,
                    json,
                    () -> {},
                    new ReplicatedIndex(),
                    snapshots,
                    5);
            opLog.record(new OpLogEntry.Mount("seg", "w", 1 << 20, "")).get(5, TimeUnit.SECONDS);
            for (int i = 1; i <= 30; i++) {
                opLog.record(new OpLogEntry.Commit(
                                "k" + i,
                                100,
                                "c",
                                List.of(new OpLogEntry.Range("seg", i * 128L, 100)),
                                false,
                                false,
                                1,
                                null))
                        .get(5, TimeUnit.SECONDS);
            }
            opLog.close();
            assertEquals(20, snapshots.latest().orElseThrow().sequence(), "snapshots at entries 5, 10 and 20");

            ExecutionException forgotten = assertThrows(
                    ExecutionException.class,
                    () -> client.getKVClient()
                            .get(
                                    ByteSequence.from(keys.leader(), StandardCharsets.UTF_8),
                                    GetOption.builder().withRevision(leading).build())
                            .get(5, TimeUnit.SECONDS),
                    "the history from before the second snapshot is gone");
            assertTrue(
                    String.valueOf(forgotten.getCause().getMessage()).contains("compacted"),
                    forgotten.getCause().toString());

            OpLogTailer standby = new OpLogTailer(store, keys.oplog(), snapshots, json, null);
            assertEquals(31, standby.appliedSequence());
            assertEquals(30, standby.index().objects().size(), "the snapshot and the log behind it give every object");
            standby.close();
        }
    }
}
