package dev.crescent.api;

import dev.crescent.common.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Each (interface, operation, outcome) counts on its own meter, found again on every call. */
class OpMetricsTest {

    @Test
    void eachInterfaceOperationAndOutcomeCountsApart() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        OpMetrics metrics = new OpMetrics(registry);
        for (int i = 0; i < 3; i++) {
            metrics.record("wire", "put_start", ErrorCode.OK);
        }
        metrics.record("wire", "put_start", ErrorCode.OBJECT_NOT_FOUND);
        metrics.record("grpc", "put_start", ErrorCode.OK);
        metrics.record("grpc", "put_start", ErrorCode.OK);
        metrics.record("wire", "put_end", ErrorCode.OK);

        assertEquals(3, count(registry, "wire", "put_start", ErrorCode.OK));
        assertEquals(1, count(registry, "wire", "put_start", ErrorCode.OBJECT_NOT_FOUND));
        assertEquals(2, count(registry, "grpc", "put_start", ErrorCode.OK));
        assertEquals(1, count(registry, "wire", "put_end", ErrorCode.OK));
        assertNull(registry.find("crescent.requests")
                .tags("api", "grpc", "op", "put_end")
                .counter());
        assertEquals(4, registry.find("crescent.requests").counters().size());
    }

    private static double count(SimpleMeterRegistry registry, String api, String op, ErrorCode outcome) {
        Counter counter = registry.find("crescent.requests")
                .tags("api", api, "op", op, "outcome", outcome.name())
                .counter();
        return counter == null ? 0 : counter.count();
    }
}
