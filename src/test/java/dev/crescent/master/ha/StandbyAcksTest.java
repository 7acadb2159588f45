package dev.crescent.master.ha;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.TlsSockets;
import dev.crescent.it.CertificateAuthority;
import dev.crescent.it.PlainProbe;
import dev.crescent.master.OpLogEntry;
import dev.crescent.master.ReplicatedIndex;
import dev.crescent.meta.EtcdProcess;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.etcd.EtcdMetadataStore;
import dev.crescent.testing.TcpRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Acknowledgements at memory speed (issue 21): a change is durable once every standby holds it, before etcd has it,
 * and the master elected next collects it from the standbys. Over a real etcd, from which the test cuts the leader
 * (or which it freezes, where etcd applying the leader's late writes would change nothing), so that nothing the
 * leader acknowledges meanwhile reaches etcd.
 */
class StandbyAcksTest {
    private final MetadataKeys keys = new MetadataKeys("acks");
    private final ObjectMapper json = new ObjectMapper();

    private static OpLogEntry commit(String key, long offset) {
        return new OpLogEntry.Commit(
                key, 100, "c", List.of(new OpLogEntry.Range("seg", offset, 100)), false, false, 1, offset);
    }

    private long lead(EtcdMetadataStore store, String who) {
        store.put(keys.leader(), who.getBytes(StandardCharsets.UTF_8), 0);
        return store.get(keys.leader()).orElseThrow().modRevision();
    }

    /** The op-log of a leader at {@code revision} of the leader key, streaming to {@code links}. */
    private EtcdOpLog leaderLog(EtcdMetadataStore store, long revision, StandbyLinks links) {
        return new EtcdOpLog(
                store,
                keys.oplog(),
                keys.leader(),
                revision,
                1,
                json,
                () -> {},
                new ReplicatedIndex(),
                new OpLogSnapshots(store, keys.snapshots(), keys.oplog(), json),
                10_000,
                links);
    }

    /** Publishes {@code master}'s replication port on this host, as a standby does under {@code oplog-replicas/}. */
    private void publishReplica(EtcdMetadataStore store, String master, int port) {
        store.put(keys.oplogReplica(master), ("127.0.0.1:" + port).getBytes(StandardCharsets.UTF_8), 0);
    }

    private static byte[] token(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static void signal(String signal, long pid) throws Exception {
        assertEquals(
                0,
                new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                        .start()
                        .waitFor());
    }

    private static void await(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(10);
        }
    }

    @Test
    void whatOnlyTheStandbyHeldSurvivesTheLeaderAndTheStandbyThenRefusesTheOldLeader() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start();
                EtcdMetadataStore standbyStore =
                        new EtcdMetadataStore(List.of(etcd.endpoint()), Duration.ofSeconds(5))) {
            TcpRelay leaderLink = TcpRelay.before(etcd.endpoint());
            EtcdMetadataStore leaderStore =
                    new EtcdMetadataStore(List.of(leaderLink.endpointFor(etcd.endpoint())), Duration.ofSeconds(5));
            OpLogSnapshots snapshots = new OpLogSnapshots(standbyStore, keys.snapshots(), keys.oplog(), json);
            OpLogTailer tailer = new OpLogTailer(standbyStore, keys.oplog(), snapshots, json, null);
            OpLogReplica replica = new OpLogReplica(
                    0, standbyStore, keys.oplogToken(), tailer::appliedSequence, ReplicationSockets.PLAIN);
            publishReplica(standbyStore, "standby:1", replica.port());

            long revision = lead(leaderStore, "leader:1");
            byte[] leaderToken = token("leader-token");
            leaderStore.put(keys.oplogToken(), leaderToken, 0);
            StandbyLinks links = new StandbyLinks(
                    leaderStore, keys.oplogReplicas(), "leader:1", leaderToken, ReplicationSockets.PLAIN);
            EtcdOpLog opLog = leaderLog(leaderStore, revision, links);
            await(() -> opLog.streamedStandbys() == 1, "the leader streams to the standby");
            opLog.record(new OpLogEntry.Mount("seg", "w", 1 << 20, "")).get(5, TimeUnit.SECONDS);
            opLog.record(commit("in-etcd", 0)).get(5, TimeUnit.SECONDS);
            await(() -> tailer.appliedSequence() >= opLog.lastWritten() && opLog.lastWritten() >= 2, "replayed");

            // The leader cut from etcd (etcd and the standby go on): what it acknowledges now only the standby holds.
            // Cut, not frozen: a frozen etcd takes the leader's writes in and may apply them once resumed.
            leaderLink.cut();
            List<String> acknowledged = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                opLog.record(commit("held-" + i, 128L * (i + 1))).get(2, TimeUnit.SECONDS);
                acknowledged.add("held-" + i);
            }
            long writtenWhileCut = opLog.lastWritten();
            assertTrue(replica.heldCount() >= 5, "held by the standby: " + replica.heldCount());
            // The leader dies with its etcd writes unsent: nothing of it may land later.
            opLog.close();
            leaderStore.close();
            leaderLink.close();
            assertEquals(writtenWhileCut, opLog.lastWritten());

            // The standby is elected: it collects what it held (and what any other standby held) and writes it.
            standbyStore.delete(keys.leader());
            long successor = lead(standbyStore, "standby:1");
            byte[] successorToken = token("successor-token");
            standbyStore.put(keys.oplogToken(), successorToken, 0);
            tailer.catchUp();
            List<OpLogStream.Batch> recovered = OpLogRecovery.collect(
                    standbyStore,
                    keys.oplogReplicas(),
                    keys.oplogReplica("standby:1"),
                    replica,
                    successorToken,
                    tailer.appliedSequence(),
                    ReplicationSockets.PLAIN);
            assertEquals(5, recovered.size(), "one batch per acknowledged change, none in etcd");
            OpLogRecovery.write(standbyStore, keys.leader(), successor, keys.oplog(), recovered);
            tailer.catchUp();
            Set<String> restored = tailer.index().objects().stream()
                    .map(OpLogEntry.Commit::key)
                    .collect(Collectors.toSet());
            assertTrue(restored.containsAll(acknowledged), "restored: " + restored);
            assertTrue(restored.contains("in-etcd"));

            // The old leader's token is no longer the one in etcd: the standby takes nothing from it any more.
            try (Socket old = new Socket(InetAddress.getLoopbackAddress(), replica.port())) {
                DataOutputStream out = new DataOutputStream(old.getOutputStream());
                OpLogStream.writeOpening(out, OpLogStream.STREAM, leaderToken);
                out.flush();
                assertEquals(OpLogStream.REFUSED, new DataInputStream(old.getInputStream()).readByte());
            }
            replica.close();
            tailer.close();
        }
    }

    /**
     * A standby that takes batches but never answers (frozen, or partitioned after connecting) delays an
     * acknowledgement by the timeout once: it is dropped, and etcd makes the change durable.
     */
    @Test
    void aStandbyThatDoesNotAnswerIsDroppedAndEtcdMakesTheChangeDurable() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start();
                EtcdMetadataStore store = new EtcdMetadataStore(List.of(etcd.endpoint()), Duration.ofSeconds(5));
                ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> accepted = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try (Socket peer = silent.accept()) {
                    DataInputStream in = new DataInputStream(peer.getInputStream());
                    OpLogStream.readOpening(in);
                    peer.getOutputStream().write(OpLogStream.ACCEPTED);
                    accepted.complete(null);
                    in.readAllBytes(); // takes batches, answers none
                } catch (Exception e) {
                    accepted.completeExceptionally(e);
                }
            });
            publishReplica(store, "silent:1", silent.getLocalPort());
            byte[] leaderToken = token("t");
            EtcdOpLog opLog = leaderLog(
                    store,
                    lead(store, "leader:1"),
                    new StandbyLinks(store, keys.oplogReplicas(), "leader:1", leaderToken, ReplicationSockets.PLAIN));
            accepted.get(5, TimeUnit.SECONDS);
            await(() -> opLog.streamedStandbys() == 1, "the leader streams to the silent standby");
            long started = System.nanoTime();
            opLog.record(commit("k", 0)).get(5, TimeUnit.SECONDS);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertEquals(0, opLog.streamedStandbys(), "dropped");
            assertTrue(opLog.lastWritten() >= 1, "durable in etcd");
            assertEquals(0, opLog.batchesHeldByStandbys());
            assertTrue(millis >= 400 && millis < 3_000, millis + " ms: the timeout, once");
            started = System.nanoTime();
            opLog.record(commit("k2", 128)).get(5, TimeUnit.SECONDS);
            assertTrue(
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) < 400,
                    "the next change waits for etcd only");
            opLog.close();
        }
    }

    /**
     * With TLS on, masters stream and collect over mutual TLS: batches are held and handed over as over plain TCP,
     * and a peer without a certificate from the cluster's authority gets nothing, not even an answer to the token.
     */
    @Test
    void overTlsOnlyMastersWithTheClustersCertificatesStreamAndCollect(@TempDir Path pki) throws Exception {
        CertificateAuthority ca = CertificateAuthority.create(pki, "masters-ca");
        ReplicationSockets leaderTls = ReplicationSockets.of(ca.issue("leader").clientContext());
        ReplicationSockets standbyTls =
                ReplicationSockets.of(ca.issue("standby").clientContext());
        ReplicationSockets successorTls =
                ReplicationSockets.of(ca.issue("successor").clientContext());
        try (EtcdProcess etcd = EtcdProcess.start();
                EtcdMetadataStore store = new EtcdMetadataStore(List.of(etcd.endpoint()), Duration.ofSeconds(5))) {
            OpLogReplica replica = new OpLogReplica(0, store, keys.oplogToken(), () -> 0, standbyTls);
            publishReplica(store, "standby:1", replica.port());
            long revision = lead(store, "leader:1");
            byte[] leaderToken = token("leader-token");
            store.put(keys.oplogToken(), leaderToken, 0);
            EtcdOpLog opLog = leaderLog(
                    store, revision, new StandbyLinks(store, keys.oplogReplicas(), "leader:1", leaderToken, leaderTls));
            await(() -> opLog.streamedStandbys() == 1, "the leader streams to the standby over TLS");

            // A plain peer showing the current token is not served (over plain TCP it would be)...
            int answer = PlainProbe.firstAnswer("127.0.0.1", replica.port(), out -> {
                OpLogStream.writeOpening(out, OpLogStream.FETCH, leaderToken);
                out.writeLong(0);
            });
            assertTrue(answer != OpLogStream.ACCEPTED, "a plain peer was answered " + answer);
            // ...nor is one that trusts the authority but shows no certificate of its own.
            try (Socket stranger = new Socket(InetAddress.getLoopbackAddress(), replica.port())) {
                stranger.setSoTimeout(5_000);
                assertThrows(IOException.class, () -> {
                    Socket secure = TlsSockets.connected(ca.trustOnly(), stranger, "127.0.0.1", replica.port());
                    DataOutputStream out = new DataOutputStream(secure.getOutputStream());
                    OpLogStream.writeOpening(out, OpLogStream.FETCH, leaderToken);
                    out.writeLong(0);
                    out.flush();
                    new DataInputStream(secure.getInputStream()).readByte();
                });
            }

            signal("STOP", etcd.pid()); // acknowledged while etcd is frozen: held by the standby, over TLS
            try {
                opLog.record(commit("held", 0)).get(2, TimeUnit.SECONDS);
                assertEquals(1, replica.heldCount());
                opLog.close();
            } finally {
                signal("CONT", etcd.pid());
            }

            store.put(keys.oplogToken(), token("successor-token"), 0);
            OpLogReplica own = new OpLogReplica(0, store, keys.oplogToken(), () -> 0, successorTls);
            List<OpLogStream.Batch> recovered = OpLogRecovery.collect(
                    store,
                    keys.oplogReplicas(),
                    keys.oplogReplica("successor:1"),
                    own,
                    token("successor-token"),
                    0,
                    successorTls);
            assertEquals(1, recovered.size(), "the held batch, fetched over TLS");
            own.close();
            replica.close();
        }
    }
}
