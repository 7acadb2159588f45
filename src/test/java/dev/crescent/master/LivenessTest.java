package dev.crescent.master;

import dev.crescent.master.eviction.LruEviction;
import dev.crescent.master.placement.RandomPlacement;
import dev.crescent.protocol.HeartbeatReply;
import dev.crescent.protocol.ReplicaConfig;
import dev.crescent.protocol.ReplicaDescriptor;
import dev.crescent.transfer.SegmentDescriptor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Heartbeats, client-ttl expiry, NEED_REMOUNT and remount (default client-ttl 10 s). */
class LivenessTest {
    private final ManualClock clock = new ManualClock();
    private Master master;

    @BeforeEach
    void setUp() {
        master = new Master(
                MasterSettings.defaults().withDefaultReplicaNum(2), new RandomPlacement(), new LruEviction(), clock);
        master.mountSegment("alive", "seg-alive", 1 << 20, "");
        master.mountSegment("silent", "seg-silent", 1 << 20, "");
    }

    @Test
    void aSilentClientLosesItsSegmentsAndObjectsWithAnotherReplicaStayReadable() {
        master.putStart("c", "both", 100, 0, false);
        master.putEnd("c", "both");
        master.putStart("c", "only-silent", 100, ReplicaConfig.replicas(1).withPreferred("seg-silent"), false);
        master.putEnd("c", "only-silent");

        for (int second = 1; second < 10; second++) {
            clock.advance(Duration.ofSeconds(1));
            assertEquals(HeartbeatReply.OK, master.heartbeat("alive"));
            assertEquals(List.of(), master.expireSilentClients(), "second " + second);
        }
        clock.advance(Duration.ofSeconds(1));
        assertEquals(List.of("silent"), master.expireSilentClients(), "10 s of silence");

        assertEquals(
                List.of("seg-alive"),
                master.segmentViews().stream().map(SegmentView::name).toList());
        assertEquals(
                List.of("seg-alive"),
                master.getReplicaList("both").replicas().stream()
                        .map(ReplicaDescriptor::segment)
                        .toList());
        assertFalse(master.exist("only-silent"), "its only replica was on the dead client's segment");
        assertEquals(
                List.of("alive"),
                master.clients().stream().map(ClientView::clientId).toList());
    }

    @Test
    void aMasterThatDoesNotServeDeclaresNoOneDeadAndGivesClientsAFullTtlWhenItServesAgain() {
        master.putStart("c", "kept", 100, ReplicaConfig.replicas(1).withPreferred("seg-silent"), false);
        master.putEnd("c", "kept");
        // Suspended (say, etcd unreachable) for longer than client-ttl: its heartbeats were refused meanwhile.
        for (int second = 1; second <= 15; second++) {
            clock.advance(Duration.ofSeconds(1));
            assertEquals(List.of(), master.expireSilentClients(false), "second " + second + " of the outage");
        }
        assertEquals(List.of(), master.expireSilentClients(true), "serving again: nobody is dead yet");
        assertTrue(master.exist("kept"), "the object kept through the outage is still there");
        clock.advance(Duration.ofSeconds(9));
        master.heartbeat("alive");
        assertEquals(List.of(), master.expireSilentClients(true), "9 s after serving again");
        clock.advance(Duration.ofSeconds(1));
        assertEquals(List.of("silent"), master.expireSilentClients(true), "a full client-ttl of silence while serving");
    }

    @Test
    void anUnknownClientIsToldToRemountAndRemountRestoresItsSegments() {
        clock.advance(Duration.ofSeconds(11));
        master.heartbeat("alive");
        master.expireSilentClients();
        assertEquals(HeartbeatReply.NEED_REMOUNT, master.heartbeat("silent"));
        assertEquals(HeartbeatReply.NEED_REMOUNT, master.heartbeat("never-seen"));

        master.remountSegments("silent", List.of(new SegmentDescriptor("seg-silent", 1 << 20, "")));
        master.remountSegments("silent", List.of(new SegmentDescriptor("seg-silent", 1 << 20, "")));
        assertEquals(HeartbeatReply.OK, master.heartbeat("silent"));
        assertEquals(2, master.stats().segmentCount());
        var replicas = master.putStart("c", "new", 100, 0, false);
        assertEquals(2, replicas.size(), "both segments take replicas again");
    }

    @Test
    void unmountingItselfIsNotExpiryAndHeartbeatsKeepAClientAlive() {
        for (int i = 0; i < 30; i++) {
            clock.advance(Duration.ofSeconds(1));
            master.heartbeat("alive");
            master.heartbeat("silent");
            assertTrue(master.expireSilentClients().isEmpty());
        }
        master.unmountSegment("silent", "seg-silent");
        assertEquals(1, master.stats().segmentCount());
    }
}
