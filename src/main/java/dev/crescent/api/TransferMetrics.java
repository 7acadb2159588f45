package dev.crescent.api;

import dev.crescent.transfer.RequestStatus;
import dev.crescent.transfer.TransferObserver;
import dev.crescent.transfer.TransferOp;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.concurrent.TimeUnit;

/**
 * Transfer metrics per transport and op: {@code crescent_transfer_bytes_total}, {@code
 * crescent_transfer_requests_total{status}} (failures are the non-COMPLETED statuses) and the latency timer
 * {@code crescent_transfer_latency_seconds}.
 */
public final class TransferMetrics implements TransferObserver {
    private final MeterRegistry registry;

    public TransferMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void finished(String transport, TransferOp op, long bytes, long nanos, RequestStatus status) {
        String opName = op.name().toLowerCase();
        Counter.builder("crescent.transfer.requests")
                .tag("transport", transport)
                .tag("op", opName)
                .tag("status", status.name())
                .register(registry)
                .increment();
        if (status == RequestStatus.COMPLETED) {
            Counter.builder("crescent.transfer.bytes")
                    .baseUnit("bytes")
                    .tag("transport", transport)
                    .tag("op", opName)
                    .register(registry)
                    .increment(bytes);
            Timer.builder("crescent.transfer.latency")
                    .tag("transport", transport)
                    .tag("op", opName)
                    .register(registry)
                    .record(nanos, TimeUnit.NANOSECONDS);
        }
    }
}
