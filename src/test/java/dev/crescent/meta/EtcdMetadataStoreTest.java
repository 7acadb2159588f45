package dev.crescent.meta;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.etcd.EtcdMetadataStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store contract against a real etcd, plus what only a remote store can do: be unreachable. */
class EtcdMetadataStoreTest extends MetadataStoreContract {
    private static EtcdProcess etcd;

    @BeforeAll
    static void startEtcd() throws Exception {
        etcd = EtcdProcess.start();
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        etcd.close();
    }

    @Override
    MetadataStore newStore() {
        // A fresh key space per test: every key the contract uses lives under a unique root.
        return new PrefixedStore(
                new EtcdMetadataStore(List.of(etcd.endpoint()), Duration.ofSeconds(5)), "/test-" + UUID.randomUUID());
    }

    @Override
    Duration shortLease() {
        return Duration.ofSeconds(2); // etcd's minimum TTL with its default election timeout
    }

    @Test
    void anUnreachableEtcdIsAClearErrorWithinTheTimeoutNotAHang() throws Exception {
        try (EtcdMetadataStore store = new EtcdMetadataStore(List.of(etcd.endpoint()), Duration.ofSeconds(1))) {
            store.put("/outage/k", "v".getBytes(StandardCharsets.UTF_8), 0);
            etcd.stop();
            long started = System.nanoTime();
            StoreException e = assertThrows(StoreException.class, () -> store.get("/outage/k"));
            assertEquals(ErrorCode.METADATA_ERROR, e.code());
            assertTrue(System.nanoTime() - started < Duration.ofSeconds(3).toNanos(), "bounded by the timeout");
            etcd.startAgain();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (true) {
                try {
                    assertEquals(
                            "v", new String(store.get("/outage/k").orElseThrow().value(), StandardCharsets.UTF_8));
                    break;
                } catch (StoreException notYet) {
                    if (System.nanoTime() > deadline) {
                        throw notYet;
                    }
                    Thread.sleep(200);
                }
            }
        }
    }
}
