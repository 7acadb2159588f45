package dev.crescent.transfer;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.common.Threads;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Moves bytes between local buffers and segment ranges, choosing per request the first transport (in order of
 * preference: local, shm, tcp) that reaches the target. Asynchronous submission is the primitive; the sync
 * helper waits on it.
 */
public final class TransferEngine implements AutoCloseable {
    private final RegisteredMemory memory;
    private final List<Transport> transports;
    private final TransferObserver observer;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closed;

    /** @param transports in order of preference, fastest first */
    public TransferEngine(RegisteredMemory memory, List<Transport> transports, TransferObserver observer) {
        this.memory = memory;
        this.transports = List.copyOf(transports);
        this.observer = observer;
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

    /** This host's id when this engine maps same-host segments' shared memory itself, else empty. */
    public String sharedMemoryHost() {
        for (Transport transport : transports) {
            if (transport.mapsSameHostMemory()) {
                return HostId.current();
            }
        }
        return "";
    }

    /** The whole shared-memory file of a same-host segment, mapped here (see {@link Transport#sameHostMapping}), or null. */
    public MemorySegment sameHostMapping(String segment, String endpoint) {
        for (Transport transport : transports) {
            MemorySegment mapped = transport.sameHostMapping(segment, endpoint);
            if (mapped != null) {
                return mapped;
            }
        }
        return null;
    }

    /** The transport a request would use, or null when none reaches its target. */
    public Transport transportFor(TransferRequest request) {
        for (Transport transport : transports) {
            if (transport.canReach(request)) {
                return transport;
            }
        }
        return null;
    }

    /**
     * How good a path to a segment at {@code endpoint} this engine has: 0 for its most preferred transport (same
     * JVM), then same host, then network; {@link Integer#MAX_VALUE} when nothing reaches it. Readers try replicas
     * in this order.
     */
    public int preference(String segment, String endpoint) {
        TransferRequest probe = new TransferRequest(TransferOp.READ, MemorySegment.NULL, segment, endpoint, 0);
        for (int i = 0; i < transports.size(); i++) {
            if (transports.get(i).canReach(probe)) {
                return i;
            }
        }
        return Integer.MAX_VALUE;
    }

    /**
     * The {@code length} bytes at {@code offset} of a segment at {@code endpoint} as a view of the memory itself,
     * when the transport that reaches it copies in memory; else null (see {@link Transport#view}, which answers
     * null for the others).
     */
    public MemorySegment view(String segment, String endpoint, long offset, long length) {
        Transport transport =
                transportFor(new TransferRequest(TransferOp.READ, MemorySegment.NULL, segment, endpoint, 0));
        return transport == null ? null : transport.view(segment, endpoint, offset, length);
    }

    /**
     * Starts every request; the batch's future completes when all have a final status. The requests of each
     * transport are handed over together, so it can send them in fewer system calls.
     */
    public TransferBatch submit(List<TransferRequest> requests) {
        return start(requests, false);
    }

    /**
     * Starts the requests; when {@code callerWaits}, the last transport's share is handed over with
     * {@link Transport#runAll}, so it may run on the calling thread once the others are under way.
     */
    private TransferBatch start(List<TransferRequest> requests, boolean callerWaits) {
        TransferBatch batch = new TransferBatch(requests);
        Map<Transport, List<Integer>> byTransport = new LinkedHashMap<>();
        for (int i = 0; i < requests.size(); i++) {
            TransferRequest request = requests.get(i);
            if (closed) {
                batch.finish(
                        i,
                        RequestStatus.CANCELED,
                        new StoreException(ErrorCode.TRANSFER_FAIL, "transfer engine is closed"));
                continue;
            }
            Transport transport = transportFor(request);
            if (transport == null) {
                batch.finish(
                        i,
                        RequestStatus.FAILED,
                        new StoreException(
                                ErrorCode.TRANSFER_FAIL,
                                "no transport reaches segment '" + request.remoteSegment() + "' at '"
                                        + request.remoteEndpoint() + "'"));
                continue;
            }
            batch.markPending(i);
            byTransport.computeIfAbsent(transport, t -> new ArrayList<>()).add(i);
        }
        int left = byTransport.size();
        for (var share : byTransport.entrySet()) {
            start(batch, share.getKey(), share.getValue(), callerWaits && --left == 0);
        }
        return batch;
    }

    private void start(TransferBatch batch, Transport transport, List<Integer> indexes, boolean onCaller) {
        List<TransferRequest> requests = new ArrayList<>(indexes.size());
        for (int index : indexes) {
            requests.add(batch.requests().get(index));
        }
        inFlight.addAndGet(indexes.size());
        long started = System.nanoTime();
        List<CompletableFuture<Void>> futures;
        try {
            futures = onCaller ? transport.runAll(requests) : transport.submitAll(requests);
        } catch (RuntimeException e) {
            futures = requests.stream()
                    .map(r -> CompletableFuture.<Void>failedFuture(e))
                    .toList();
        }
        for (int i = 0; i < indexes.size(); i++) {
            int index = indexes.get(i);
            TransferRequest request = requests.get(i);
            futures.get(i).whenComplete((ok, error) -> {
                Throwable cause = unwrap(error);
                RequestStatus status = statusOf(cause);
                inFlight.decrementAndGet();
                observer.finished(
                        transport.name(), request.op(), request.length(), System.nanoTime() - started, status);
                batch.finish(index, status, cause);
            });
        }
    }

    /** Runs the requests and waits; throws the first failure as a StoreException (TRANSFER_FAIL if untyped). */
    public void execute(List<TransferRequest> requests) {
        TransferBatch batch = start(requests, true).future().join();
        for (int i = 0; i < requests.size(); i++) {
            StoreException failure = failureOf(batch, i);
            if (failure != null) {
                throw failure;
            }
        }
    }

    /** Why request {@code index} of a finished batch did not complete (TRANSFER_FAIL if untyped), or null. */
    public static StoreException failureOf(TransferBatch batch, int index) {
        if (batch.status(index) == RequestStatus.COMPLETED) {
            return null;
        }
        Throwable failure = batch.failure(index);
        if (failure instanceof StoreException store) {
            return store;
        }
        return new StoreException(
                ErrorCode.TRANSFER_FAIL,
                "transfer " + batch.status(index) + ": " + (failure == null ? "no detail" : failure.getMessage()),
                failure);
    }

    public int inFlight() {
        return inFlight.get();
    }

    private static RequestStatus statusOf(Throwable cause) {
        if (cause == null) {
            return RequestStatus.COMPLETED;
        }
        return cause instanceof StoreException e && e.code() == ErrorCode.RPC_TIMEOUT
                ? RequestStatus.TIMEOUT
                : RequestStatus.FAILED;
    }

    private static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    /** Graceful close: new requests are CANCELED, requests in flight get up to {@code drainTimeout} to finish. */
    public void close(Duration drainTimeout) {
        closed = true;
        Threads.awaitCondition(() -> inFlight.get() == 0, drainTimeout);
        transports.forEach(Transport::close);
        if (observer instanceof AutoCloseable closeable) {
            try {
                closeable.close();
            } catch (Exception ignored) {
                // Observers only hold timers.
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }
}
