package dev.crescent.common;

import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Connections a pool keeps open between uses (the most recently used is handed out first), at most a bound of them.
 * Once closed it keeps none: it closes what it holds and every connection handed back, also one handed back while
 * it was closing.
 *
 * @param <C> the pool's connection type
 */
public final class IdleConnections<C> {
    private final int max;
    private final Consumer<C> closer;
    private final Deque<C> idle = new ConcurrentLinkedDeque<>();
    /** How many {@link #idle} holds, kept beside it: the deque counts by walking its nodes, on every call's return. */
    private final AtomicInteger held = new AtomicInteger();

    private volatile boolean closed;

    /** @param closer closes one connection quietly */
    public IdleConnections(int max, Consumer<C> closer) {
        this.max = max;
        this.closer = closer;
    }

    /** An idle connection to use, or null when there is none. */
    public C poll() {
        C connection = idle.pollFirst();
        if (connection != null) {
            held.decrementAndGet();
        }
        return connection;
    }

    /** Keeps {@code connection} for the next use, or closes it when this is closed or full. */
    public void offer(C connection) {
        if (closed) {
            closer.accept(connection);
            return;
        }
        if (held.incrementAndGet() > max) { // counted before it is added, uncounted after it is taken: never short
            held.decrementAndGet();
            closer.accept(connection);
            return;
        }
        idle.offerFirst(connection);
        if (closed) { // close() ran between the check and the offer: it may have missed this connection
            closeIdle();
        }
    }

    /** Closes the connections held now; later ones are still kept. */
    public void closeIdle() {
        C connection;
        while ((connection = poll()) != null) {
            closer.accept(connection);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** Closes the connections held and every one offered from now on. */
    public void close() {
        closed = true;
        closeIdle();
    }
}
