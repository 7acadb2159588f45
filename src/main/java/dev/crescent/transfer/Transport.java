package dev.crescent.transfer;

import java.util.concurrent.CompletableFuture;

/** One way of moving bytes (same JVM, shared memory, TCP, RDMA). The engine picks one per request. */
public interface Transport extends AutoCloseable {

    String name();

    /** Whether this transport can move bytes to/from the request's target segment. */
    boolean canReach(TransferRequest request);

    /** Starts the transfer; the future completes when the bytes have moved, or fails with a StoreException. */
    CompletableFuture<Void> submit(TransferRequest request);

    @Override
    default void close() {
    }
}
