package dev.crescent.transfer;

/** Tells two observers; closes both. */
public record CompositeObserver(TransferObserver first, TransferObserver second)
        implements TransferObserver, AutoCloseable {

    @Override
    public void finished(String transport, TransferOp op, long bytes, long nanos, RequestStatus status) {
        first.finished(transport, op, bytes, nanos, status);
        second.finished(transport, op, bytes, nanos, status);
    }

    @Override
    public void close() throws Exception {
        for (TransferObserver observer : new TransferObserver[] {first, second}) {
            if (observer instanceof AutoCloseable closeable) {
                closeable.close();
            }
        }
    }
}
