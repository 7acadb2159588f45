package dev.crescent.protocol;

/** What the master answers a heartbeat. */
public enum HeartbeatReply {
    /** The master knows this client and its segments. */
    OK,
    /**
     * The master does not know this client (it was silent past client-ttl, or the master restarted): its segments
     * were unmounted and it must mount them again.
     */
    NEED_REMOUNT
}
