package dev.crescent.transfer.rdma;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class EndpointCacheTest {
    private final List<String> closed = new ArrayList<>();
    private final AtomicInteger connects = new AtomicInteger();

    private final class Endpoint implements AutoCloseable {
        final String peer;

        Endpoint(String peer) {
            this.peer = peer;
            connects.incrementAndGet();
        }

        @Override
        public void close() {
            closed.add(peer);
        }
    }

    @Test
    void keepsEndpointsAndEvictsTheLeastRecentlyUsedOne() {
        try (EndpointCache<String, Endpoint> cache = new EndpointCache<>(2)) {
            Endpoint a = cache.get("a", Endpoint::new);
            cache.get("b", Endpoint::new);
            assertSame(a, cache.get("a", Endpoint::new), "a cached endpoint is reused");
            cache.get("c", Endpoint::new); // b is the least recently used
            assertEquals(List.of("b"), closed);
            assertEquals(2, cache.size());
            assertEquals(3, connects.get());
            cache.invalidate("a");
            assertEquals(List.of("b", "a"), closed);
            cache.get("a", Endpoint::new);
            assertEquals(4, connects.get(), "an invalidated endpoint is connected again");
        }
        assertEquals(List.of("b", "a", "c", "a"), closed, "closing the cache closes what it holds");
    }
}
