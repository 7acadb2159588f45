package dev.crescent.common;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The bound on connections kept idle, counted beside the deque rather than by walking it. */
class IdleConnectionsTest {
    private final List<String> closed = new ArrayList<>();
    private final IdleConnections<String> idle = new IdleConnections<>(2, closed::add);

    @Test
    void keepsUpToTheBoundAndClosesTheRest() {
        idle.offer("a");
        idle.offer("b");
        idle.offer("c");
        assertEquals(List.of("c"), closed, "past the bound a connection handed back is closed");
        assertEquals("b", idle.poll(), "the most recently used first");
        idle.offer("d");
        assertEquals(List.of("c"), closed, "a connection taken makes room for the next");
        assertEquals("d", idle.poll());
        assertEquals("a", idle.poll());
        assertNull(idle.poll());
        idle.offer("e");
        idle.offer("f");
        idle.offer("g");
        assertEquals(List.of("c", "g"), closed, "emptied, it holds the bound again, no more");
    }

    @Test
    void onceClosedItKeepsNothing() {
        idle.offer("a");
        idle.close();
        idle.offer("b");
        assertEquals(List.of("a", "b"), closed);
        assertNull(idle.poll());
    }
}
