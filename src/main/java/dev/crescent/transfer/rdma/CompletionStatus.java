package dev.crescent.transfer.rdma;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

/**
 * What a work completion's status (enum ibv_wc_status) means for Crescent: the error code a caller sees, and
 * whether the rail is at fault (retry the slice on another NIC, count it toward pausing the rail, and drop the
 * endpoint: its queue pair is in ERROR) or the request is (wrong key or range: another rail would fail the same).
 */
public record CompletionStatus(int status, String name, ErrorCode code, boolean railFault) {
    private static final String[] NAMES = {
        "SUCCESS",
        "LOC_LEN_ERR",
        "LOC_QP_OP_ERR",
        "LOC_EEC_OP_ERR",
        "LOC_PROT_ERR",
        "WR_FLUSH_ERR",
        "MW_BIND_ERR",
        "BAD_RESP_ERR",
        "LOC_ACCESS_ERR",
        "REM_INV_REQ_ERR",
        "REM_ACCESS_ERR",
        "REM_OP_ERR",
        "RETRY_EXC_ERR",
        "RNR_RETRY_EXC_ERR",
        "LOC_RDD_VIOL_ERR",
        "REM_INV_RD_REQ_ERR",
        "REM_ABORT_ERR",
        "INV_EECN_ERR",
        "INV_EEC_STATE_ERR",
        "FATAL_ERR",
        "RESP_TIMEOUT_ERR",
        "GENERAL_ERR",
        "TM_ERR",
        "TM_RNDV_INCOMPLETE"
    };

    public static CompletionStatus of(int status) {
        String name = status >= 0 && status < NAMES.length ? NAMES[status] : "UNKNOWN_" + status;
        return switch (name) {
            case "SUCCESS" -> new CompletionStatus(status, name, ErrorCode.OK, false);
            // The request itself is wrong: a key or range the peer did not register, a length past the buffer.
            case "LOC_LEN_ERR",
                    "LOC_PROT_ERR",
                    "LOC_ACCESS_ERR",
                    "REM_INV_REQ_ERR",
                    "REM_ACCESS_ERR",
                    "REM_INV_RD_REQ_ERR" -> new CompletionStatus(status, name, ErrorCode.INVALID_PARAMS, false);
            case "RESP_TIMEOUT_ERR" -> new CompletionStatus(status, name, ErrorCode.RPC_TIMEOUT, true);
            // Link, peer or queue pair trouble (WR_FLUSH_ERR: flushed because the queue pair already failed).
            default -> new CompletionStatus(status, name, ErrorCode.TRANSFER_FAIL, true);
        };
    }

    public boolean ok() {
        return status == 0;
    }

    public StoreException error(String what) {
        return new StoreException(code, what + " failed: work completion " + name + " (" + status + ")");
    }
}
