package dev.crescent.worker;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.protocol.HeartbeatReply;
import dev.crescent.protocol.MasterClient;
import dev.crescent.transfer.SegmentDescriptor;
import org.jboss.logging.Logger;

/**
 * Keeps one contributed segment in the pool: mounts it until the master has it, then heartbeats; a master that
 * answers NEED_REMOUNT (it declared this client dead, or it is a new leader that does not know it) gets the
 * segment again. Used by worker nodes and by clients that contribute memory. Call {@link #tick} periodically
 * (well inside the master's client-ttl) from one thread.
 *
 * <p>Memory that may hold objects (an adopted segment file, or memory mounted before) is mounted claiming them:
 * a master that holds them keeps them, and one that does not answers SEGMENT_CONTENTS_UNKNOWN, whereupon the memory
 * is cleared and mounted empty, so no range handed out ever shows an earlier object's bytes.
 */
public final class SegmentMembership {
    private static final Logger LOG = Logger.getLogger(SegmentMembership.class);

    private final MasterClient master;
    private final String clientId;
    private final SegmentDescriptor segment;
    private final WorkerSegment memory;
    private volatile boolean mounted;
    private volatile StoreException refusal;
    /** Whether the memory may hold objects: adopted with them, or mounted (and so written to) since last cleared. */
    private boolean used;

    public SegmentMembership(MasterClient master, String clientId, SegmentDescriptor segment, WorkerSegment memory) {
        this.master = master;
        this.clientId = clientId;
        this.segment = segment;
        this.memory = memory;
        this.used = memory.holdsContents();
    }

    public void tick() {
        if (mounted) {
            heartbeat();
        }
        if (!mounted) {
            mount();
        }
    }

    public boolean mounted() {
        return mounted;
    }

    /** Takes the segment out of the pool (objects whose only replica it held are gone). */
    public void leave() {
        if (!mounted) {
            return;
        }
        try {
            master.unmountSegment(clientId, segment.name());
        } catch (StoreException e) {
            LOG.warnf("unmounting segment %s failed: %s", segment.name(), e.getMessage());
        }
        mounted = false;
    }

    private void heartbeat() {
        try {
            if (master.heartbeat(clientId) == HeartbeatReply.NEED_REMOUNT) {
                LOG.warnf("master asked to remount segment %s", segment.name());
                mounted = false;
            }
        } catch (StoreException e) {
            LOG.debugf("heartbeat failed (%s: %s); retrying", e.code(), e.getMessage());
        }
    }

    private void mount() {
        try {
            try {
                master.mountSegment(clientId, segment, used);
            } catch (StoreException e) {
                if (e.code() != ErrorCode.SEGMENT_CONTENTS_UNKNOWN) {
                    throw e;
                }
                LOG.warnf(
                        "the master does not hold the objects in segment %s (%s): clearing it to mount it empty",
                        segment.name(), e.getMessage());
                memory.clearContents();
                used = false;
                master.mountSegment(clientId, segment, false);
            }
            used = true;
            mounted = true;
            LOG.infof("segment %s (%d bytes) mounted", segment.name(), segment.capacity());
            refusal = null;
        } catch (StoreException e) {
            refusal = e;
            LOG.warnf("mounting segment %s failed (%s: %s); retrying", segment.name(), e.code(), e.getMessage());
        }
    }

    /** Why the last mount failed, or null when it did not (or no mount was tried). */
    public StoreException refusal() {
        return refusal;
    }
}
