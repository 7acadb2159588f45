package dev.crescent.api;

import dev.crescent.common.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Singleton;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Counts each API operation by interface and outcome: {@code crescent_requests_total{api,op,outcome}}. */
@Singleton
public class OpMetrics {
    private final MeterRegistry registry;
    /** Registering looks the meter up by its tags on every call; the set of (api, op, outcome) is small. */
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();

    public OpMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void record(String api, String op, ErrorCode outcome) {
        counters.computeIfAbsent(
                        api + '/' + op + '/' + outcome.name(),
                        k -> Counter.builder("crescent.requests")
                                .description("API operations by interface, operation and outcome")
                                .tag("api", api)
                                .tag("op", op)
                                .tag("outcome", outcome.name())
                                .register(registry))
                .increment();
    }
}
