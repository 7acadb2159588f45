package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

/**
 * The states of an RC queue pair that Crescent drives it through: created in RESET, then INIT (bound to a port),
 * RTR (aimed at the peer's queue pair), RTS (ready to post). Any state may fall to ERROR (a failed completion
 * flushes the queue), and only a reset leaves ERROR. Out-of-order transitions are refused before the device sees
 * them, so a handshake bug is a clear error instead of an EINVAL from the driver.
 */
public enum QueuePairState {
    RESET,
    INIT,
    RTR,
    RTS,
    ERROR;

    /** The state after moving to {@code target}; throws when the verbs state machine does not allow the move. */
    public QueuePairState moveTo(QueuePairState target) {
        boolean allowed = switch (target) {
            case INIT -> this == RESET;
            case RTR -> this == INIT;
            case RTS -> this == RTR;
            case ERROR -> true;
            case RESET -> this == ERROR || this == RESET;
        };
        if (!allowed) {
            throw new StoreException(ErrorCode.INTERNAL_ERROR, "queue pair cannot go from " + this + " to " + target);
        }
        return target;
    }

    public boolean canPost() {
        return this == RTS;
    }
}
