package dev.crescent.meta;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.embedded.EmbeddedMetadataStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedMetadataStoreTest {
    private final EmbeddedMetadataStore store = new EmbeddedMetadataStore(InstantSource.system());

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void putGetPrefixAndDelete() {
        store.put("/c/segments/a", bytes("1"), 0);
        store.put("/c/segments/b", bytes("2"), 0);
        store.put("/c/workers/a", bytes("3"), 0);
        assertEquals("1", text(store.get("/c/segments/a").orElseThrow().value()));
        assertEquals(List.of("/c/segments/a", "/c/segments/b"),
                store.getPrefix("/c/segments/").stream().map(KeyValue::key).toList());
        assertTrue(store.delete("/c/segments/a"));
        assertFalse(store.delete("/c/segments/a"));
        assertTrue(store.get("/c/segments/a").isEmpty());
    }

    @Test
    void compareAndSwapOnlyWritesOverTheExpectedRevision() {
        assertTrue(store.compareAndSwap("/k", 0, bytes("first"), 0), "absent key, expected 0");
        assertFalse(store.compareAndSwap("/k", 0, bytes("second"), 0), "no longer absent");
        long revision = store.get("/k").orElseThrow().modRevision();
        assertTrue(store.compareAndSwap("/k", revision, bytes("third"), 0));
        assertFalse(store.compareAndSwap("/k", revision, bytes("fourth"), 0), "revision moved on");
        assertEquals("third", text(store.get("/k").orElseThrow().value()));
    }

    @Test
    void leasedKeysDisappearWhenTheLeaseExpiresUnlessKeptAlive() throws Exception {
        long kept = store.grantLease(Duration.ofMillis(400));
        long dropped = store.grantLease(Duration.ofMillis(400));
        store.put("/kept", bytes("x"), kept);
        store.put("/dropped", bytes("y"), dropped);
        for (int i = 0; i < 8; i++) {
            Thread.sleep(100);
            store.keepAlive(kept);
        }
        assertTrue(store.get("/kept").isPresent());
        assertTrue(store.get("/dropped").isEmpty());
        StoreException e = assertThrows(StoreException.class, () -> store.keepAlive(dropped));
        assertEquals(ErrorCode.METADATA_ERROR, e.code());
        assertThrows(StoreException.class, () -> store.put("/late", bytes("z"), dropped));
        store.revokeLease(kept);
        assertTrue(store.get("/kept").isEmpty());
    }

    @Test
    void watchersSeeChangesUnderTheirPrefixInOrder() throws Exception {
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        AutoCloseable watch = store.watchPrefix("/w/", events::add);
        store.put("/w/a", bytes("1"), 0);
        store.put("/other", bytes("ignored"), 0);
        store.put("/w/a", bytes("2"), 0);
        store.delete("/w/a");
        WatchEvent first = events.poll(2, TimeUnit.SECONDS);
        WatchEvent second = events.poll(2, TimeUnit.SECONDS);
        WatchEvent third = events.poll(2, TimeUnit.SECONDS);
        assertEquals("1", text(first.entry().value()));
        assertEquals("2", text(second.entry().value()));
        assertTrue(second.entry().modRevision() > first.entry().modRevision());
        assertEquals(WatchEvent.Type.DELETE, third.type());
        watch.close();
        store.put("/w/b", bytes("after close"), 0);
        assertEquals(null, events.poll(200, TimeUnit.MILLISECONDS));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
