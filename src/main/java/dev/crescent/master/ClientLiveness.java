package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.HeartbeatReply;
import dev.crescent.transfer.PeerAddress;
import dev.crescent.transfer.SegmentDescriptor;
import org.jboss.logging.Logger;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Segments in the pool and the clients that own them: mounts, heartbeats, and clients declared dead after
 * client-ttl of silence, whose segments are then unmounted (objects with a replica elsewhere stay readable).
 */
final class ClientLiveness {
    private static final Logger LOG = Logger.getLogger(ClientLiveness.class);

    private final ObjectBook book;

    ClientLiveness(ObjectBook book) {
        this.book = book;
    }

    /**
     * Mounts a segment (idempotent for the same owner) and registers its owner as a live client. With access
     * control on, memory whose transfer server checks no ticket is refused: objects placed there would be readable
     * and writable by anyone who reaches that server. A mount that takes over a dead owner's segment (same contents
     * id: a worker restarted and adopted its file) keeps its objects, forgets the dead owner once it has nothing
     * left, and has the objects checked against their checksums.
     */
    void mount(String clientId, SegmentDescriptor spec, boolean claimsContents) {
        ObjectBook.requireClient(clientId);
        PeerAddress peer = PeerAddress.parse(spec.endpoint());
        if (book.signsTickets() && !peer.tcp().isEmpty() && !peer.ticketed()) {
            throw new StoreException(
                    ErrorCode.PERMISSION_DENIED,
                    "segment " + spec.name() + " is served over TCP without ticket checks, and this cluster runs "
                            + "access control: give its owner the ticket secret (crescent.access.ticket-secret, "
                            + "or ClientOptions.ContributedMemory for memory a client contributes)");
        }
        MountedSegment waiting = book.segments.get(spec.name());
        if (waiting != null
                && waiting.awaitingRestartUntilMillis() != 0
                && (spec.contentsId() == 0 || spec.contentsId() != waiting.contentsId())) {
            // Its owner restarted without the memory it had (a new file): the objects it held are gone for good.
            book.unmountAndDrop(waiting.ownerClientId(), waiting.name());
        }
        SegmentRegistry.Mounting mounting = book.segments.mount(clientId, spec, claimsContents);
        MountedSegment segment = mounting.segment();
        if (segment.allocator().usedBytes() == 0) {
            book.versions.clear(segment); // an earlier master's versions (it restarted; the worker did not)
        }
        book.opLog.record(new OpLogEntry.Mount(
                segment.name(),
                clientId,
                segment.capacity(),
                segment.endpoint(),
                segment.contentsId(),
                segment.tier()));
        book.clients.register(clientId, book.clock.millis());
        String previousOwner = mounting.previousOwner();
        if (previousOwner != null) {
            if (book.segments.ownedBy(previousOwner).isEmpty()) {
                book.clients.forget(previousOwner);
            }
            LOG.infof(
                    "segment %s taken over by %s from %s (a restarted owner): its objects stay",
                    segment.name(), clientId, previousOwner);
            book.takenOver(segment);
        }
    }

    /** Unmounts a segment (one not mounted is left alone); a client with no segment left is no longer watched. */
    void unmount(String clientId, String segment) {
        book.unmountAndDrop(clientId, segment);
        if (book.segments.ownedBy(clientId).isEmpty()) {
            book.clients.forget(clientId);
        }
    }

    /** An unknown client (expired, or met by a restarted master) must remount. */
    HeartbeatReply heartbeat(String clientId) {
        ObjectBook.requireClient(clientId);
        return book.clients.refresh(clientId, book.clock.millis()) ? HeartbeatReply.OK : HeartbeatReply.NEED_REMOUNT;
    }

    /** @param serving whether this master serves now (see {@link ClientRegistry#takeExpired}) */
    List<String> expireSilent(boolean serving) {
        long now = book.clock.millis();
        List<String> expired =
                book.clients.takeExpired(now, book.settings.clientTtl().toMillis(), serving);
        long grace = book.settings.restartGrace().toMillis();
        for (String clientId : expired) {
            for (MountedSegment segment : book.segments.ownedBy(clientId)) {
                if (grace > 0) {
                    // Its objects stay, unread, for a restart of the worker (it adopts its file and takes them over).
                    segment.awaitRestart(now + grace);
                    LOG.infof(
                            "segment %s waits %s for its owner %s to restart; its objects are not read meanwhile",
                            segment.name(), book.settings.restartGrace(), clientId);
                } else {
                    book.unmountAndDrop(clientId, segment.name());
                }
            }
        }
        for (MountedSegment segment : book.segments.restartGraceOver(now)) {
            LOG.infof("segment %s: its owner did not restart within %s", segment.name(), book.settings.restartGrace());
            book.unmountAndDrop(segment.ownerClientId(), segment.name());
        }
        return expired;
    }

    List<ClientView> clients() {
        long now = book.clock.millis();
        return book.clients.view().entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .map(e -> new ClientView(
                        e.getKey(),
                        e.getValue(),
                        now - e.getValue(),
                        book.segments.ownedBy(e.getKey()).stream()
                                .map(MountedSegment::name)
                                .sorted()
                                .toList()))
                .toList();
    }

    List<SegmentView> segments() {
        return book.segments.view().stream()
                .map(SegmentView::of)
                .sorted(Comparator.comparing(SegmentView::name))
                .toList();
    }
}
