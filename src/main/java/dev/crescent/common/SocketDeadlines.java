package dev.crescent.common;

import java.io.IOException;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Deadlines for calls on blocking sockets, kept by one watchdog thread that closes the socket of a call that
 * overran its deadline (within {@link #TICK_MILLIS}). A socket with {@code SO_TIMEOUT} (or connected with a timeout)
 * turns non-blocking for good in the JDK, and each read that finds no data yet then costs a read, a poll and a
 * second read, where a blocking socket costs one read: on the master wire, where every call waits for its answer,
 * that was about a fifth of the client's CPU per call. A call arms its socket's {@link Watch} before it writes and
 * disarms it once the answer is read, two atomic writes.
 */
public final class SocketDeadlines {
    /** How often the watchdog looks: deadlines are kept to within this. */
    static final long TICK_MILLIS = 25;

    private static final long IDLE = Long.MIN_VALUE;
    private static final long EXPIRED = Long.MIN_VALUE + 1;

    private static final SocketDeadlines SHARED = new SocketDeadlines();

    private final Set<Watch> watched = ConcurrentHashMap.newKeySet();
    /** Started with the first watch, at run time (never in a native image's build). */
    private Thread watchdog;

    private SocketDeadlines() {}

    /** A watch over {@code socket}, idle until armed; {@link Watch#close} ends it. */
    public static Watch watch(Socket socket) {
        return SHARED.register(socket);
    }

    private Watch register(Socket socket) {
        Watch watch = new Watch(socket);
        watched.add(watch);
        LockSupport.unpark(startOnce()); // it parks while nothing is watched
        return watch;
    }

    private synchronized Thread startOnce() {
        if (watchdog == null) {
            watchdog = Thread.ofPlatform()
                    .name("crescent-socket-deadlines")
                    .daemon()
                    .start(this::run);
        }
        return watchdog;
    }

    private void run() {
        while (true) {
            if (watched.isEmpty()) {
                LockSupport.park(this); // until the next watch: a process without connections is not woken
                continue;
            }
            try {
                Thread.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Watch watch : watched) {
                watch.expireIfDue(now);
            }
        }
    }

    /** The deadline of the call on one socket, if one is in progress. */
    public final class Watch implements AutoCloseable {
        private final Socket socket;
        private final AtomicLong deadline = new AtomicLong(IDLE);

        private Watch(Socket socket) {
            this.socket = socket;
        }

        /** A call starts: its socket is closed if the call has not {@link #disarm disarmed} within the timeout. */
        public void arm(long timeoutMillis) {
            long due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
            deadline.set(due == IDLE || due == EXPIRED ? due + 2 : due);
        }

        /**
         * The call is over. Returns false when the watchdog closed the socket first: the call failed by its
         * deadline (even when its answer arrived in the meantime, the socket is gone).
         */
        public boolean disarm() {
            return deadline.getAndSet(IDLE) != EXPIRED;
        }

        /** Whether the watchdog closed the socket because its call overran (until the next {@link #arm}). */
        public boolean expired() {
            return deadline.get() == EXPIRED;
        }

        private void expireIfDue(long now) {
            long due = deadline.get();
            // The compare-and-set fails when the call disarmed, or a later call re-armed, since the read: only the
            // call that overran loses its socket.
            if (due != IDLE && due != EXPIRED && now - due >= 0 && deadline.compareAndSet(due, EXPIRED)) {
                try {
                    socket.close(); // the blocked read or write throws
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }

        /** No longer watched (its socket is closed or about to be). */
        @Override
        public void close() {
            watched.remove(this);
        }
    }
}
