package dev.crescent.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** What the service's metrics say about the master calls it answered, for tests that count calls. */
public final class MasterCalls {
    private MasterCalls() {}

    /** Master calls of this kind ({@code op}) the service answered OK so far, wire and gRPC callers alike. */
    public static double answered(MeterRegistry registry, String op) {
        Counter counter = registry.find("crescent.requests")
                .tags("api", "grpc", "op", op, "outcome", "OK")
                .counter();
        return counter == null ? 0 : counter.count();
    }
}
