package dev.crescent.transfer.rdma;

import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import static dev.crescent.transfer.rdma.QueuePairState.ERROR;
import static dev.crescent.transfer.rdma.QueuePairState.INIT;
import static dev.crescent.transfer.rdma.QueuePairState.RESET;
import static dev.crescent.transfer.rdma.QueuePairState.RTR;
import static dev.crescent.transfer.rdma.QueuePairState.RTS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QueuePairStateTest {

    @Test
    void connectsOnlyThroughInitThenRtrThenRts() {
        QueuePairState state = RESET.moveTo(INIT).moveTo(RTR).moveTo(RTS);
        assertEquals(RTS, state);
        assertTrue(state.canPost());
        for (QueuePairState notReady : new QueuePairState[] {RESET, INIT, RTR, ERROR}) {
            assertFalse(notReady.canPost(), notReady + " must not post");
        }
    }

    @Test
    void outOfOrderMovesAreRefused() {
        assertThrows(StoreException.class, () -> RESET.moveTo(RTR));
        assertThrows(StoreException.class, () -> RESET.moveTo(RTS));
        assertThrows(StoreException.class, () -> INIT.moveTo(RTS));
        assertThrows(StoreException.class, () -> RTS.moveTo(INIT));
        assertThrows(StoreException.class, () -> RTS.moveTo(RESET), "only ERROR may be reset");
    }

    @Test
    void anyStateMayFailAndAFailedQueuePairStartsAgainFromReset() {
        for (QueuePairState state : QueuePairState.values()) {
            assertEquals(ERROR, state.moveTo(ERROR));
        }
        assertEquals(INIT, ERROR.moveTo(RESET).moveTo(INIT));
    }
}
