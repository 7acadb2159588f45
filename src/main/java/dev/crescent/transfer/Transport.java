package dev.crescent.transfer;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** One way of moving bytes (same JVM, shared memory, TCP, RDMA). The engine picks one per request. */
public interface Transport extends AutoCloseable {

    String name();

    /** Whether this transport can move bytes to/from the request's target segment. */
    boolean canReach(TransferRequest request);

    /**
     * Whether this transport moves bytes with a memory copy on the calling thread, never waiting on a peer: its
     * futures are complete when {@link #submit} returns. A master moves small objects' bytes itself only over such
     * transports (it may not wait on its event loop).
     */
    default boolean copiesInMemory() {
        return false;
    }

    /** Whether this transport maps same-host segments' shared-memory files (readers then copy them themselves). */
    default boolean mapsSameHostMemory() {
        return false;
    }

    /** Starts the transfer; the future completes when the bytes have moved, or fails with a StoreException. */
    CompletableFuture<Void> submit(TransferRequest request);

    /**
     * Starts several transfers, one future per request in order; a request that cannot start gets a failed future.
     * Transports that can send many requests in fewer system calls override it.
     */
    default List<CompletableFuture<Void>> submitAll(List<TransferRequest> requests) {
        List<CompletableFuture<Void>> started = new ArrayList<>(requests.size());
        for (TransferRequest request : requests) {
            try {
                started.add(submit(request));
            } catch (RuntimeException e) {
                started.add(CompletableFuture.failedFuture(e));
            }
        }
        return started;
    }

    /**
     * Like {@link #submitAll}, for a caller that waits for the transfers at once: a transport may move the bytes on
     * the calling thread and return completed futures, sparing a hand-off to an I/O thread and back.
     */
    default List<CompletableFuture<Void>> runAll(List<TransferRequest> requests) {
        return submitAll(requests);
    }

    /**
     * The {@code length} bytes at {@code offset} of a segment at {@code endpoint}, as a view of the memory itself,
     * when this transport {@link #copiesInMemory copies in memory} and reaches it; else null. The view is read while
     * the range cannot be reused (its reader holds a lease); reads fail, never crash, once the memory is unmapped.
     */
    default MemorySegment view(String segment, String endpoint, long offset, long length) {
        return null;
    }

    /**
     * The whole shared-memory file of a segment at {@code endpoint} mapped into this process (its bytes, then its
     * {@link VersionTable}), when this transport maps same-host segments and reaches that one; else null.
     */
    default MemorySegment sameHostMapping(String segment, String endpoint) {
        return null;
    }

    @Override
    default void close() {}
}
