package dev.crescent.transfer.shm;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** When yielding stops, and for how long: on a clock of the test's own, whose yields take as long as the test says. */
class CoreYieldTest {
    private static final long QUICK = TimeUnit.MICROSECONDS.toNanos(3);
    private static final long LOST = CoreYield.LOST_NANOS + 1;

    private long now = 1_000;
    private long yieldTakes = QUICK;
    private int yields;
    /** Runs inside the next yield, as another thread's yield that starts and ends while this one is away. */
    private Runnable duringNextYield;

    private final CoreYield yielding = new CoreYield(() -> now, () -> {
        yields++;
        Runnable other = duringNextYield;
        duringNextYield = null;
        if (other != null) {
            other.run();
        }
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
    void aLossTurnsYieldingOffShortly() {
        assertTrue(yielding.yieldOnce());
        assertFalse(lose(), "another process held the core");
        now += CoreYield.SHORTEST_OFF_NANOS - 1;
        assertFalse(yielding.yieldOnce(), "off: the waiter sleeps instead");
        assertEquals(2, yields, "no yield while off");
        now += 1;
        assertTrue(yielding.yieldOnce(), "on again after the shortest while: the stall was over");
        assertEquals(3, yields);
    }

    @Test
    void lossesSoonAfterComingBackOnKeepItOffLongerUpToTheLongest() {
        List<Long> offs = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            offs.add(offAfterLoss());
        }
        long shortest = CoreYield.SHORTEST_OFF_NANOS;
        long longest = CoreYield.LONGEST_OFF_NANOS;
        assertEquals(
                List.of(shortest, 2 * shortest, 4 * shortest, 8 * shortest, 16 * shortest, longest, longest),
                offs,
                "a busy neighbour: each loss comes as soon as yielding is back on");
    }

    @Test
    void aLossLongAfterTheLastIsShortAgain() {
        for (int i = 0; i < 6; i++) {
            offAfterLoss();
        }
        assertEquals(CoreYield.LONGEST_OFF_NANOS, offAfterLoss());
        long quiet = now + CoreYield.LONGEST_OFF_NANOS;
        while (now < quiet) {
            assertTrue(yielding.yieldOnce());
        }
        assertEquals(CoreYield.SHORTEST_OFF_NANOS, offAfterLoss(), "the neighbour left");
    }

    @Test
    void yieldsAwayDuringTheSameStallCountOnce() {
        // A stall holds every waiter's yield: the one that comes back first turns yielding off, the others come back
        // late too, and the same stall must not lengthen the while as if it were lost again and again.
        yieldTakes = LOST;
        duringNextYield = () -> assertFalse(yielding.yieldOnce(), "the first one back");
        long stallStart = now;
        assertFalse(yielding.yieldOnce(), "the one that went away first");
        yieldTakes = QUICK;
        long offEnd = stallStart + LOST + CoreYield.SHORTEST_OFF_NANOS; // the first one back came at stallStart + LOST
        now = offEnd - 1;
        assertFalse(yielding.yieldOnce(), "off for the shortest while");
        now = offEnd;
        assertTrue(yielding.yieldOnce(), "on again after it, not after twice that");
    }

    @Test
    void aYieldJustUnderTheBoundIsNotALoss() {
        yieldTakes = CoreYield.LOST_NANOS;
        assertTrue(yielding.yieldOnce());
        assertTrue(yielding.yieldOnce());
    }

    /** A yield that loses the core. @return whether it may yield again (never) */
    private boolean lose() {
        yieldTakes = LOST;
        try {
            return yielding.yieldOnce();
        } finally {
            yieldTakes = QUICK;
        }
    }

    /** Loses the core at once, then waits out the while yielding is off. @return how long that was */
    private long offAfterLoss() {
        assertFalse(lose());
        long lostAt = now;
        while (!yielding.yieldOnce()) {
            now += TimeUnit.MICROSECONDS.toNanos(100); // the whiles are whole milliseconds: this finds their end
        }
        return now - QUICK - lostAt; // the yield that found it on took QUICK
    }
}
