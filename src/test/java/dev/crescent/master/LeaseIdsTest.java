package dev.crescent.master;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lease ids are drawn a buffer at a time: across many buffers every id is fresh and none is 0 (an id repeated, as
 * from a buffer not drawn again, would let a reader end another's lease), and two sources do not agree.
 */
class LeaseIdsTest {
    @Test
    void idsAcrossManyDrawsAreDistinctAndNeverZero() {
        LeaseIds ids = new LeaseIds();
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 100_000; i++) { // about 200 draws of 512
            long id = ids.next();
            assertNotEquals(0, id);
            assertTrue(seen.add(id), "id " + id + " handed out twice");
        }
        assertEquals(100_000, seen.size());
    }

    @Test
    void twoMastersDrawDifferentIds() {
        LeaseIds first = new LeaseIds();
        LeaseIds second = new LeaseIds();
        Set<Long> firsts = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            firsts.add(first.next());
        }
        for (int i = 0; i < 1000; i++) {
            assertFalse(firsts.contains(second.next()), "a second master drew an id the first drew");
        }
    }
}
