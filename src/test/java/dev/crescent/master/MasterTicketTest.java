package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.ObjectLocation;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.TicketSigner;
import dev.crescent.transfer.TransferOp;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** With access control on, every replica handed out carries a ticket for exactly its range and op. */
class MasterTicketTest {
    private final ManualClock clock = new ManualClock();
    private final TicketSigner signer = TicketSigner.random();

    @Test
    void putsGetWriteTicketsAndReadsGetReadTicketsUntilTheLeaseEnds() {
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock, signer);
        master.mountSegment("w", "seg", 1 << 20, "");
        ReplicaDescriptor written = master.putStart("c", "k", 1000, 0, false).getFirst();
        long now = clock.millis();
        signer.verify(written.ticket(), TransferOp.WRITE, "seg", written.offset(), 1000, now);
        assertEquals(now + 30_000, written.ticket().expiresAtMillis(), "a write ticket lasts the discard timeout");
        assertThrows(
                StoreException.class,
                () -> signer.verify(written.ticket(), TransferOp.READ, "seg", written.offset(), 1000, now));
        master.putEnd("c", "k");

        ObjectLocation location = master.getReplicaList("k");
        ReplicaDescriptor read = location.replicas().getFirst();
        assertEquals(location.leaseDeadlineMillis(), read.ticket().expiresAtMillis());
        signer.verify(read.ticket(), TransferOp.READ, "seg", read.offset(), 1000, now);
        StoreException beyond = assertThrows(
                StoreException.class,
                () -> signer.verify(read.ticket(), TransferOp.READ, "seg", read.offset(), 1001, now));
        assertEquals(ErrorCode.PERMISSION_DENIED, beyond.code());
        clock.advance(Duration.ofSeconds(11));
        assertThrows(
                StoreException.class,
                () -> signer.verify(read.ticket(), TransferOp.READ, "seg", read.offset(), 1000, clock.millis()));
    }

    @Test
    void withoutAccessControlThereAreNoTickets() {
        Master master = new Master(MasterSettings.defaults(), new RandomPlacement(), new LruEviction(), clock);
        master.mountSegment("w", "seg", 1 << 20, "");
        assertNull(master.putStart("c", "k", 10, 0, false).getFirst().ticket());
    }
}
