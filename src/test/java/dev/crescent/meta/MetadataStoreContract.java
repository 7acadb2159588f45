package dev.crescent.meta;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every MetadataStore must do, run against each implementation (the embedded store, and etcd started by the
 * test): the cluster relies on exactly these semantics whichever store is configured.
 */
abstract class MetadataStoreContract {
    private MetadataStore store;

    /** A fresh, empty store. */
    abstract MetadataStore newStore();

    /** The shortest lease the store honours as given (etcd rounds up to whole seconds, at least its minimum). */
    abstract Duration shortLease();

    @BeforeEach
    void open() {
        store = newStore();
    }

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
        assertEquals(
                List.of("/c/segments/a", "/c/segments/b"),
                store.getPrefix("/c/segments/").stream().map(KeyValue::key).toList());
        assertTrue(store.delete("/c/segments/a"));
        assertFalse(store.delete("/c/segments/a"));
        assertTrue(store.get("/c/segments/a").isEmpty());
    }

    @Test
    void deleteRangeRemovesExactlyTheHalfOpenRange() {
        for (String k : List.of("/r/01", "/r/02", "/r/03", "/r/04", "/s/01")) {
            store.put(k, bytes(k), 0);
        }
        assertEquals(2, store.deleteRange("/r/02", "/r/04"));
        assertEquals(
                List.of("/r/01", "/r/04"),
                store.getPrefix("/r/").stream().map(KeyValue::key).toList());
        assertTrue(store.get("/s/01").isPresent());
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
    void guardedCreateWritesOnlyWhileTheGuardIsUnchangedAndTheKeyAbsent() {
        store.put("/leader", bytes("me"), 0);
        long guard = store.get("/leader").orElseThrow().modRevision();
        assertTrue(store.createGuarded("/leader", guard, "/log/1", bytes("a")));
        assertFalse(store.createGuarded("/leader", guard, "/log/1", bytes("b")), "the key exists");
        store.put("/leader", bytes("successor"), 0);
        assertFalse(store.createGuarded("/leader", guard, "/log/2", bytes("c")), "the guard moved on");
        assertTrue(store.get("/log/2").isEmpty());
        assertEquals("a", text(store.get("/log/1").orElseThrow().value()));
    }

    /** The leader writes several op-log batches in one transaction: all of them, or none when one key exists. */
    @Test
    void aGuardedCreateOfSeveralKeysWritesAllOrNone() {
        store.put("/leader", bytes("me"), 0);
        long guard = store.get("/leader").orElseThrow().modRevision();
        assertTrue(store.createGuarded(
                "/leader",
                guard,
                List.of(new KeyValue("/log/1", bytes("a"), 0, 0), new KeyValue("/log/2", bytes("b"), 0, 0))));
        assertEquals("b", text(store.get("/log/2").orElseThrow().value()));
        assertFalse(
                store.createGuarded(
                        "/leader",
                        guard,
                        List.of(new KeyValue("/log/3", bytes("c"), 0, 0), new KeyValue("/log/2", bytes("x"), 0, 0))),
                "/log/2 exists");
        assertTrue(store.get("/log/3").isEmpty(), "nothing of a refused transaction is written");
        assertEquals("b", text(store.get("/log/2").orElseThrow().value()));
    }

    @Test
    void leasedKeysDisappearWhenTheLeaseExpiresUnlessKeptAlive() throws Exception {
        Duration ttl = shortLease();
        long kept = store.grantLease(ttl);
        long dropped = store.grantLease(ttl);
        store.put("/kept", bytes("x"), kept);
        store.put("/dropped", bytes("y"), dropped);
        // Twice the TTL, keeping one lease alive four times per TTL; then a little slack for the expiry sweep.
        for (int i = 0; i < 8; i++) {
            Thread.sleep(ttl.toMillis() / 4);
            store.keepAlive(kept);
        }
        long deadline = System.nanoTime() + ttl.toNanos();
        while (store.get("/dropped").isPresent() && System.nanoTime() < deadline) {
            Thread.sleep(50);
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
