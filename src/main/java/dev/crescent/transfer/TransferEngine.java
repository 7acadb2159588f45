package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * Moves bytes between local buffers and segment ranges, choosing per request the first transport (in order of
 * preference) that reaches the target. Asynchronous submission is the primitive; the sync helper waits on it.
 */
public final class TransferEngine implements AutoCloseable {
    private final RegisteredMemory memory;
    private final List<Transport> transports;

    /** @param transports in order of preference, fastest first */
    public TransferEngine(RegisteredMemory memory, List<Transport> transports) {
        this.memory = memory;
        this.transports = List.copyOf(transports);
    }

    public void registerLocal(String name, MemorySegment segment, String location) {
        memory.register(name, segment, location);
    }

    public void unregisterLocal(String name) {
        memory.unregister(name);
    }

    public RegisteredMemory memory() {
        return memory;
    }

    /** Starts every request; the batch's future completes when all have a final status. */
    public TransferBatch submit(List<TransferRequest> requests) {
        TransferBatch batch = new TransferBatch(requests);
        for (int i = 0; i < requests.size(); i++) {
            int index = i;
            TransferRequest request = requests.get(i);
            Transport transport = transportFor(request);
            if (transport == null) {
                batch.finish(index, RequestStatus.FAILED, new StoreException(ErrorCode.TRANSFER_FAIL,
                        "no transport reaches segment '" + request.remoteSegment() + "' at '"
                                + request.remoteEndpoint() + "'"));
                continue;
            }
            batch.markPending(index);
            try {
                transport.submit(request).whenComplete((ok, error) -> batch.finish(index,
                        error == null ? RequestStatus.COMPLETED : RequestStatus.FAILED, unwrap(error)));
            } catch (RuntimeException e) {
                batch.finish(index, RequestStatus.FAILED, e);
            }
        }
        return batch;
    }

    /** Runs the requests and waits; throws the first failure as a StoreException (TRANSFER_FAIL if untyped). */
    public void execute(List<TransferRequest> requests) {
        TransferBatch batch = submit(requests).future().join();
        for (int i = 0; i < requests.size(); i++) {
            if (batch.status(i) != RequestStatus.COMPLETED) {
                Throwable failure = batch.failure(i);
                if (failure instanceof StoreException store) {
                    throw store;
                }
                throw new StoreException(ErrorCode.TRANSFER_FAIL, "transfer " + batch.status(i) + ": "
                        + (failure == null ? "no detail" : failure.getMessage()), failure);
            }
        }
    }

    private Transport transportFor(TransferRequest request) {
        for (Transport transport : transports) {
            if (transport.canReach(request)) {
                return transport;
            }
        }
        return null;
    }

    private static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    @Override
    public void close() {
        transports.forEach(Transport::close);
    }
}
