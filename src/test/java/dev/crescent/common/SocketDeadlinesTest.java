package dev.crescent.common;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The watchdog over blocking sockets, on real connected sockets on 127.0.0.1. */
class SocketDeadlinesTest {
    @Test
    void aCallThatOverrunsLosesItsSocketAndItsBlockedReadEnds() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(server.getInetAddress(), server.getLocalPort());
                Socket silent = server.accept()) {
            SocketDeadlines.Watch watch = SocketDeadlines.watch(client);
            long started = System.nanoTime();
            watch.arm(200);
            assertThrows(IOException.class, () -> client.getInputStream().read(), "the read never returns data");
            long tookMillis = (System.nanoTime() - started) / 1_000_000;
            assertTrue(tookMillis >= 200 && tookMillis < 5_000, "closed after " + tookMillis + " ms");
            assertTrue(watch.expired());
            assertFalse(watch.disarm(), "the call learns that its deadline ended it");
            assertTrue(client.isClosed());
            watch.close();
        }
    }

    @Test
    void callsThatEndInTimeAreNeverCutNorIsALaterCallByTheirDeadlines() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(server.getInetAddress(), server.getLocalPort());
                Socket peer = server.accept()) {
            SocketDeadlines.Watch watch = SocketDeadlines.watch(client);
            for (int call = 0; call < 20; call++) {
                watch.arm(300);
                peer.getOutputStream().write(call);
                assertEquals(call, client.getInputStream().read());
                assertTrue(watch.disarm(), "answered in time");
            }
            Thread.sleep(500); // past every one of those deadlines
            assertFalse(client.isClosed(), "a disarmed deadline closes nothing");
            watch.arm(60_000);
            Thread.sleep(10 * SocketDeadlines.TICK_MILLIS);
            peer.getOutputStream().write(42);
            assertEquals(42, client.getInputStream().read(), "a later call keeps its own, longer deadline");
            assertTrue(watch.disarm());

            watch.close();
            watch.arm(1); // no longer watched: nothing closes it
            Thread.sleep(10 * SocketDeadlines.TICK_MILLIS);
            assertFalse(client.isClosed());
        }
    }
}
