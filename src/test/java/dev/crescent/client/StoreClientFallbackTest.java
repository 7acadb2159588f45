package dev.crescent.client;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.ManualClock;
import dev.crescent.master.Master;
import dev.crescent.master.MasterSettings;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.TransferOp;
import dev.crescent.transfer.TransferRequest;
import dev.crescent.transfer.Transport;
import dev.crescent.transfer.local.LocalTransport;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A read that falls back from a stalled replica to the next one (hardening issue, D16): the stall used up the whole
 * lease (transfer timeout = lease), so the next read must run under a fresh lease instead of failing LEASE_EXPIRED.
 */
class StoreClientFallbackTest {
    private static final long SEGMENT = 1 << 20;

    @Test
    void aReadFallingBackAfterAStalledReplicaRunsUnderAFreshLease() {
        ManualClock clock = new ManualClock();
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        RegisteredMemory memory = new RegisteredMemory();
        for (String segment : List.of("seg-1", "seg-2")) {
            memory.register(segment, Arena.ofAuto().allocate(SEGMENT, 4096), "cpu:0");
            master.mountSegment("worker-" + segment, segment, SEGMENT, "");
        }
        Transport stallingFirstReplica = new StallingReads(
                "seg-1",
                new LocalTransport(memory),
                () -> clock.advance(MasterSettings.defaults().leaseTtl().plusSeconds(1)));
        try (TransferEngine engine = new TransferEngine(memory, List.of(stallingFirstReplica), TransferObserver.NONE)) {
            StoreClient store = new StoreClient(master, engine, "client", clock);
            byte[] value = new byte[100_000];
            new Random(3).nextBytes(value);
            store.put(
                    "k",
                    MemorySegment.ofArray(value),
                    ReplicaConfig.replicas(2).withPreferred("seg-1", "seg-2"),
                    false);
            assertArrayEquals(value, store.get("k"), "read from seg-2 after seg-1 timed out");
        }
    }

    /** Reads of one segment time out after the time a stall would take; everything else goes through. */
    private record StallingReads(String segment, Transport inner, Runnable stall) implements Transport {
        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public boolean canReach(TransferRequest request) {
            return inner.canReach(request);
        }

        @Override
        public CompletableFuture<Void> submit(TransferRequest request) {
            if (request.op() == TransferOp.READ && request.remoteSegment().equals(segment)) {
                stall.run();
                return CompletableFuture.failedFuture(
                        new StoreException(ErrorCode.RPC_TIMEOUT, "no answer from " + segment));
            }
            return inner.submit(request);
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
