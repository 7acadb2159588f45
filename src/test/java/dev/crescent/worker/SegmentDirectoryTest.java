package dev.crescent.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataKeys;
import dev.crescent.meta.embedded.EmbeddedMetadataStore;
import dev.crescent.transfer.SegmentDescriptor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.InstantSource;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SegmentDirectoryTest {
    private final ObjectMapper json = new ObjectMapper();
    private final MetadataKeys keys = new MetadataKeys("test");

    @Test
    void opensPublishedSegmentsAndFollowsChangesAndLeaseExpiry() throws Exception {
        try (EmbeddedMetadataStore store = new EmbeddedMetadataStore(InstantSource.system())) {
            publish(store, "seg-a", "tcp=10.0.0.1:7000", 0);
            try (SegmentDirectory directory = new SegmentDirectory(store, keys, json)) {
                assertEquals(
                        new SegmentDescriptor("seg-a", 1024, "tcp=10.0.0.1:7000", "cpu:0", "owner"),
                        directory.open("seg-a"),
                        "listed at start");
                StoreException missing = assertThrows(StoreException.class, () -> directory.open("seg-b"));
                assertEquals(ErrorCode.SEGMENT_NOT_FOUND, missing.code());

                long lease = store.grantLease(Duration.ofMillis(300));
                publish(store, "seg-b", "tcp=10.0.0.2:7000", lease);
                await(() -> directory.all().containsKey("seg-b"));
                publish(store, "seg-a", "tcp=10.0.0.9:7001", 0);
                await(() -> directory.open("seg-a").endpoint().equals("tcp=10.0.0.9:7001"));
                // The worker behind seg-b stops renewing: its descriptor and the directory entry go away.
                await(() -> !directory.all().containsKey("seg-b"));
                assertThrows(StoreException.class, () -> directory.open("seg-b"));
            }
        }
    }

    private void publish(EmbeddedMetadataStore store, String name, String endpoint, long lease) throws Exception {
        store.put(
                keys.segment(name),
                json.writeValueAsBytes(new SegmentDescriptor(name, 1024, endpoint, "cpu:0", "owner")),
                lease);
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not reached in time");
            Thread.sleep(20);
        }
    }
}
