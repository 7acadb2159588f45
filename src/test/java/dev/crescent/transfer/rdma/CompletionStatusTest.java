package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompletionStatusTest {

    @Test
    void linkAndPeerFailuresAreTheRailsFaultAndAreRetriedElsewhere() {
        for (int status :
                new int[] {5, 7, 12, 13, 19, 21}) { // FLUSH, BAD_RESP, RETRY_EXC, RNR_RETRY_EXC, FATAL, GENERAL
            CompletionStatus s = CompletionStatus.of(status);
            assertTrue(s.railFault(), s.name());
            assertEquals(ErrorCode.TRANSFER_FAIL, s.code(), s.name());
        }
        CompletionStatus timeout = CompletionStatus.of(20);
        assertEquals("RESP_TIMEOUT_ERR", timeout.name());
        assertEquals(ErrorCode.RPC_TIMEOUT, timeout.code());
        assertTrue(timeout.railFault());
    }

    @Test
    void badKeysAndRangesAreTheRequestsFaultAndAnotherRailWouldNotHelp() {
        for (int status : new int[] {1, 4, 8, 9, 10, 15}) {
            CompletionStatus s = CompletionStatus.of(status);
            assertFalse(s.railFault(), s.name());
            assertEquals(ErrorCode.INVALID_PARAMS, s.code(), s.name());
        }
        assertEquals("REM_ACCESS_ERR", CompletionStatus.of(10).name());
        assertTrue(CompletionStatus.of(0).ok());
        assertEquals("UNKNOWN_99", CompletionStatus.of(99).name());
        assertTrue(CompletionStatus.of(10).error("write").getMessage().contains("REM_ACCESS_ERR (10)"));
    }
}
