package dev.crescent.transfer.shm;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When yielding stops: on a clock of the test's own, whose yields take as long as the test says. */
class CoreYieldTest {
    private long now = 1_000;
    private long yieldTakes = TimeUnit.MICROSECONDS.toNanos(3);
    private int yields;

    private final CoreYield yielding = new CoreYield(() -> now, () -> {
        yields++;
        now += yieldTakes;
    });

    @Test
    void quickYieldsGoOn() {
        for (int i = 0; i < 100; i++) {
            assertTrue(yielding.yieldOnce());
        }
        assertEquals(100, yields);
    }

    @Test
    void aYieldThatLostTheCoreTurnsYieldingOffForAWhile() {
        assertTrue(yielding.yieldOnce());
        yieldTakes = CoreYield.LOST_NANOS + 1; // another process held the core
        assertFalse(yielding.yieldOnce());
        yieldTakes = TimeUnit.MICROSECONDS.toNanos(3);
        now += CoreYield.OFF_NANOS - 1;
        assertFalse(yielding.yieldOnce(), "off: the waiter sleeps instead");
        assertEquals(2, yields, "no yield while off");
        now += 1;
        assertTrue(yielding.yieldOnce(), "on again after the while");
        assertEquals(3, yields);
    }

    @Test
    void aYieldJustUnderTheBoundIsNotALoss() {
        yieldTakes = CoreYield.LOST_NANOS;
        assertTrue(yielding.yieldOnce());
        assertTrue(yielding.yieldOnce());
    }
}
