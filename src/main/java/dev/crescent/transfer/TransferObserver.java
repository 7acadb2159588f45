package dev.crescent.transfer;

/** Told about every finished request, for metrics and the throughput reporter. Must be cheap and thread-safe. */
public interface TransferObserver {
    TransferObserver NONE = (transport, op, bytes, nanos, status) -> {};

    void finished(String transport, TransferOp op, long bytes, long nanos, RequestStatus status);
}
