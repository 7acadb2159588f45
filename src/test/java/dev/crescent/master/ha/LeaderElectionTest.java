package dev.crescent.master.ha;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.meta.MetadataStore;
import dev.crescent.meta.embedded.EmbeddedMetadataStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One leader at a time; a closed leader hands over at once, a dead one after its lease, a cut-off one steps down. */
class LeaderElectionTest {
    private static final Duration TTL = Duration.ofMillis(600);
    private final EmbeddedMetadataStore store = new EmbeddedMetadataStore(InstantSource.system());
    private final List<String> events = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        store.close();
    }

    private LeaderElection candidate(String name, MetadataStore via) {
        LeaderElection election =
                new LeaderElection(via, "/c/master/leader", () -> name, TTL, new LeaderElection.Listener() {
                    @Override
                    public void elected() {
                        events.add(name + " elected");
                    }

                    @Override
                    public void suspended(String why) {
                        events.add(name + " suspended");
                    }

                    @Override
                    public void resumed() {
                        events.add(name + " resumed");
                    }

                    @Override
                    public void demoted(String why) {
                        events.add(name + " demoted");
                    }
                });
        election.start();
        return election;
    }

    @Test
    void exactlyOneLeadsAndAClosedLeaderHandsOverAtOnce() throws Exception {
        LeaderElection a = candidate("a:1", store);
        await(a::isLeader);
        LeaderElection b = candidate("b:2", store);
        await(() -> b.leaderAddress().isPresent());
        assertFalse(b.isLeader());
        assertEquals("a:1", b.leaderAddress().orElseThrow());
        long closed = System.nanoTime();
        a.close();
        await(b::isLeader);
        assertTrue(System.nanoTime() - closed < TTL.toNanos(), "no wait for the lease after a clean hand-over");
        b.close();
    }

    @Test
    void aCutOffLeaderSuspendsBeforeAnotherIsElectedAndStepsDownWhenItSeesIt() throws Exception {
        AtomicBoolean cutOff = new AtomicBoolean();
        MetadataStore partitioned = cutOffWhen(cutOff);
        LeaderElection a = candidate("a:1", partitioned);
        await(a::isLeader);
        LeaderElection b = candidate("b:2", store);
        cutOff.set(true);
        await(b::isLeader);
        assertFalse(a.isLeader());
        // isLeader flips just before the listener records the event: wait for the record, then check the order.
        await(() -> events.contains("b:2 elected"));
        assertEquals(
                List.of("a:1 elected", "a:1 suspended", "b:2 elected"),
                events,
                "the cut-off leader stopped serving before the other was elected");
        cutOff.set(false);
        await(() -> events.contains("a:1 demoted"));
        assertFalse(a.isLeader());
        assertTrue(b.isLeader());
        a.close();
        b.close();
    }

    @Test
    void aLeaderWhoseStoreComesBackInTimeResumes() throws Exception {
        AtomicBoolean cutOff = new AtomicBoolean();
        MetadataStore flaky = cutOffWhen(cutOff);
        LeaderElection a = candidate("a:1", flaky);
        await(a::isLeader);
        cutOff.set(true);
        await(() -> events.contains("a:1 suspended"));
        assertFalse(a.isLeader());
        cutOff.set(false); // back before the lease (600 ms) ran out in the store
        await(a::isLeader);
        await(() -> events.contains("a:1 resumed"));
        assertEquals(List.of("a:1 elected", "a:1 suspended", "a:1 resumed"), events);
        a.close();
    }

    /** The test's store, unreachable (every call fails as METADATA_ERROR) while {@code cutOff} is set. */
    private MetadataStore cutOffWhen(AtomicBoolean cutOff) {
        return (MetadataStore) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {MetadataStore.class}, (proxy, method, args) -> {
                    if (cutOff.get()) {
                        throw new StoreException(ErrorCode.METADATA_ERROR, "unreachable");
                    }
                    try {
                        return method.invoke(store, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s");
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }
}
