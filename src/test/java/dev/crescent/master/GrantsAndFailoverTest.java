package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.RegisteredMemory;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.TransferEngine;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.local.LocalTransport;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Grants (WRITE tickets, read leases) bound memory reuse, across failovers too, and a refused operation changes
 * nothing durable (hardening issue, defects D1, D2, D7, D8, D14).
 */
class GrantsAndFailoverTest {
    private static final long SEGMENT = 1 << 20;
    private final ManualClock clock = new ManualClock();

    private Master master(TicketSigner tickets) {
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock, tickets);
        master.mountSegment("worker", "seg", SEGMENT, "");
        return master;
    }

    @Test
    void aWriteTicketOfARevokedPutNeverCoversTheNextObjectsMemory() {
        Master master = master(TicketSigner.random());
        ReplicaDescriptor revoked =
                master.putStart("mallory", "tenant-a/x", 4096, 1, false).getFirst();
        master.putRevoke("mallory", "tenant-a/x");
        // mallory's ticket is valid until the discard timeout: nothing placed meanwhile may overlap its range.
        ReplicaDescriptor next =
                master.putStart("alice", "tenant-b/secret", 4096, 1, false).getFirst();
        assertFalse(overlaps(revoked, next), "the revoked put's range was handed out again while its ticket lives");

        clock.advance(MasterSettings.defaults().putStartDiscardTimeout().plusSeconds(1));
        master.sweep();
        assertEquals(4096, master.stats().usedBytes(), "after the grant expires the range comes back");
    }

    @Test
    void anUpsertInPlaceWaitsForTheEarlierWritersGrantToEnd() {
        Master master = master(TicketSigner.random());
        ReplicaDescriptor first =
                master.putStart("mallory", "k", 4096, 1, false).getFirst();
        master.putEnd("mallory", "k");
        ReplicaDescriptor second = master.putStart("alice", "k", 4096, 1, true).getFirst();
        assertFalse(overlaps(first, second), "mallory's live WRITE ticket would overwrite alice's bytes");
    }

    @Test
    void withoutTicketsAnUpsertStillReusesItsRangeInPlace() {
        Master master = master(null);
        ReplicaDescriptor first = master.putStart("a", "k", 4096, 1, false).getFirst();
        master.putEnd("a", "k");
        assertEquals(first, master.putStart("b", "k", 4096, 1, true).getFirst());
    }

    @Test
    void anUpsertRefusedForSpaceLogsNothingAndKeepsTheObject() {
        List<OpLogEntry> logged = new ArrayList<>();
        Master master = master(null);
        master.attachOpLog(recordingInto(logged));
        ReplicaConfig hardPinned = ReplicaConfig.replicas(1).withPins(false, true); // eviction cannot make room
        master.putStart("a", "k", 4096, hardPinned, false);
        master.putEnd("a", "k");
        master.putStart("a", "pinned", SEGMENT - 8192, hardPinned, false);
        master.putEnd("a", "pinned");
        logged.clear();

        StoreException refused =
                assertThrows(StoreException.class, () -> master.putStart("a", "k", 65536, hardPinned, true));
        assertEquals(ErrorCode.NO_AVAILABLE_HANDLE, refused.code());
        assertTrue(logged.stream().noneMatch(e -> e instanceof OpLogEntry.Drop), "logged " + logged);
        assertTrue(master.exist("k"), "the acknowledged object is still there");
    }

    @Test
    void readLeasesOfTheOldLeaderHoldOnTheNewOne() {
        ReplicatedIndex replicated = new ReplicatedIndex();
        Master leader = master(null);
        leader.attachOpLog(recordingInto(replicated));
        leader.mountSegment("worker", "seg", SEGMENT, ""); // logged again, now that the log is attached
        leader.putStart("a", "k", 4096, 1, false);
        leader.putEnd("a", "k");
        ReplicaDescriptor read = leader.getReplicaList("k").replicas().getFirst(); // a reader holds this lease

        Master successor = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        successor.restore(replicated);
        successor.remove("k", true);
        ReplicaDescriptor next =
                successor.putStart("b", "other", 4096, 1, false).getFirst();
        assertFalse(overlaps(read, next), "a reader with a valid lease would read another object's bytes");

        clock.advance(MasterSettings.defaults().leaseTtl().plus(Duration.ofSeconds(1)));
        successor.sweep();
        assertEquals(4096, successor.stats().usedBytes(), "once the lease has ended the memory comes back");
    }

    @Test
    void aHugeReplicaCountIsRefusedBeforeAnythingIsAllocated() {
        Master master = master(null);
        StoreException refused =
                assertThrows(StoreException.class, () -> master.putStart("a", "k", 100, Integer.MAX_VALUE, false));
        assertEquals(ErrorCode.INVALID_PARAMS, refused.code());
        assertEquals(0, master.stats().usedBytes());
    }

    @Test
    void aPutThatNeverWritesReadsZerosNotTheBytesOfTheObjectFreedBeforeIt() {
        // D2 of the hardening issue: freed memory was handed out as it was, and PutEnd needs no write.
        MemorySegment memory = Arena.ofAuto().allocate(SEGMENT, 4096);
        RegisteredMemory registered = new RegisteredMemory();
        registered.register("seg", memory, "cpu:0");
        try (TransferEngine engine =
                new TransferEngine(registered, List.of(new LocalTransport(registered)), TransferObserver.NONE)) {
            Master master = master(TicketSigner.random());
            master.attachScrubber(new EngineScrubber(engine));
            ReplicaDescriptor secret =
                    master.putStart("alice", "tenant-a/secret", 65536, 1, false).getFirst();
            memory.asSlice(secret.offset(), secret.length()).fill((byte) 0x5A);
            master.putEnd("alice", "tenant-a/secret");
            master.remove("tenant-a/secret", true);
            clock.advance(MasterSettings.defaults().putStartDiscardTimeout().plusSeconds(1));
            master.sweep(); // alice's grant is over: the range is scrubbed, then free

            ReplicaDescriptor reused =
                    master.putStart("mallory", "tenant-b/peek", 65536, 1, false).getFirst();
            assertTrue(overlaps(secret, reused), "the test needs the freed range handed out again");
            master.putEnd("mallory", "tenant-b/peek"); // ended without writing a byte
            ReplicaDescriptor read =
                    master.getReplicaList("tenant-b/peek").replicas().getFirst();
            byte[] seen = memory.asSlice(read.offset(), read.length()).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(new byte[(int) read.length()], seen, "alice's deleted bytes were readable");
        }
    }

    private static boolean overlaps(ReplicaDescriptor a, ReplicaDescriptor b) {
        return a.segment().equals(b.segment())
                && a.offset() < b.offset() + b.length()
                && b.offset() < a.offset() + a.length();
    }

    private static OpLog recordingInto(List<OpLogEntry> into) {
        return recording(into::add);
    }

    private static OpLog recordingInto(ReplicatedIndex into) {
        return recording(into::apply);
    }

    private static OpLog recording(java.util.function.Consumer<OpLogEntry> sink) {
        return new RecordingOpLog(sink);
    }
}
