package dev.crescent.api;

import dev.crescent.common.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Singleton;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/** Counts each API operation by interface and outcome: {@code crescent_requests_total{api,op,outcome}}. */
@Singleton
public class OpMetrics {
    private final MeterRegistry registry;
    /**
     * The counters by interface, then operation, then outcome. Registering looks the meter up by its tags on every
     * call, and a key built per call cost a string per call on every path; this finds one without building anything.
     */
    private final Map<String, Map<String, AtomicReferenceArray<Counter>>> counters = new ConcurrentHashMap<>();

    public OpMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void record(String api, String op, ErrorCode outcome) {
        AtomicReferenceArray<Counter> byOutcome = counters.computeIfAbsent(api, a -> new ConcurrentHashMap<>())
                .computeIfAbsent(op, o -> new AtomicReferenceArray<>(ErrorCode.values().length));
        Counter counter = byOutcome.get(outcome.ordinal());
        if (counter == null) {
            // Two threads may both register it: the registry answers both with the same meter.
            counter = Counter.builder("crescent.requests")
                    .description("API operations by interface, operation and outcome")
                    .tag("api", api)
                    .tag("op", op)
                    .tag("outcome", outcome.name())
                    .register(registry);
            byOutcome.set(outcome.ordinal(), counter);
        }
        counter.increment();
    }
}
