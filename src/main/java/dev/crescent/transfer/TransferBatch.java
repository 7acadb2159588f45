package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A submitted batch: per-request status and bytes moved, and a future that completes when every request has
 * reached a final status (it never completes exceptionally; inspect the statuses).
 */
public final class TransferBatch {
    private final List<TransferRequest> requests;
    private final AtomicReferenceArray<RequestStatus> statuses;
    private final AtomicReferenceArray<Throwable> failures;
    private final AtomicInteger remaining;
    private final CompletableFuture<TransferBatch> done = new CompletableFuture<>();

    TransferBatch(List<TransferRequest> requests) {
        this.requests = List.copyOf(requests);
        this.statuses = new AtomicReferenceArray<>(requests.size());
        this.failures = new AtomicReferenceArray<>(requests.size());
        this.remaining = new AtomicInteger(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            statuses.set(i, RequestStatus.WAITING);
        }
        if (requests.isEmpty()) {
            done.complete(this);
        }
    }

    public List<TransferRequest> requests() {
        return requests;
    }

    public RequestStatus status(int index) {
        return statuses.get(index);
    }

    /** Bytes moved by request {@code index}: its length once completed, else 0. */
    public long bytesTransferred(int index) {
        return statuses.get(index) == RequestStatus.COMPLETED
                ? requests.get(index).length()
                : 0;
    }

    /** Why request {@code index} failed, or null. */
    public Throwable failure(int index) {
        return failures.get(index);
    }

    public boolean allCompleted() {
        for (int i = 0; i < requests.size(); i++) {
            if (statuses.get(i) != RequestStatus.COMPLETED) {
                return false;
            }
        }
        return true;
    }

    /**
     * Ends the caller's use of the batch: after it returns, the buffers of its requests may be reused. Refused
     * while any request is still waiting or pending, because a transport may still be reading or writing them.
     */
    public void free() {
        for (int i = 0; i < requests.size(); i++) {
            if (!statuses.get(i).isFinal()) {
                throw new StoreException(
                        ErrorCode.INVALID_PARAMS,
                        "batch still has request " + i + " " + statuses.get(i) + "; wait for it before freeing");
            }
        }
    }

    public CompletableFuture<TransferBatch> future() {
        return done;
    }

    void markPending(int index) {
        statuses.compareAndSet(index, RequestStatus.WAITING, RequestStatus.PENDING);
    }

    void finish(int index, RequestStatus status, Throwable failure) {
        RequestStatus before = statuses.getAndUpdate(index, s -> s.isFinal() ? s : status);
        if (before.isFinal()) {
            return;
        }
        failures.set(index, failure);
        if (remaining.decrementAndGet() == 0) {
            done.complete(this);
        }
    }
}
