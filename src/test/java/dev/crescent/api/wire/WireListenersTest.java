package dev.crescent.api.wire;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.Socket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Listeners sharing a port on real sockets: which event loop serves each connection. */
@Timeout(30)
class WireListenersTest {
    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() {
        vertx.close().toCompletionStage().toCompletableFuture().join();
    }

    @Test
    void connectionsToOnePortAreServedOnAsManyEventLoopsAsListeners() throws Exception {
        List<String> threads = new CopyOnWriteArrayList<>();
        CountDownLatch served = new CountDownLatch(4);
        WireListeners listeners =
                WireListeners.started(vertx, new NetServerOptions().setHost("127.0.0.1"), 2, socket -> {
                    threads.add(Thread.currentThread().getName());
                    served.countDown();
                });
        assertTrue(listeners.port() > 0, "port 0 picks a free one: " + listeners.port());
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                sockets.add(new Socket("127.0.0.1", listeners.port()));
            }
            assertTrue(served.await(10, TimeUnit.SECONDS), "connections served: " + threads);
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
        Set<String> loops = new HashSet<>(threads);
        assertEquals(2, loops.size(), "two listeners, two event loops: " + threads);
        assertTrue(loops.stream().allMatch(name -> name.startsWith("vert.x-eventloop-thread-")), threads.toString());
    }

    @Test
    void setsOfListenersOnFreePortsNeverShareOne() {
        NetServerOptions options = new NetServerOptions().setHost("127.0.0.1");
        WireListeners first = WireListeners.started(vertx, options, 2, NetSocket::close);
        WireListeners second = WireListeners.started(vertx, options, 2, NetSocket::close);
        WireListeners single = WireListeners.started(vertx, options, 1, NetSocket::close);
        assertNotEquals(first.port(), second.port());
        assertNotEquals(first.port(), single.port());
        assertNotEquals(second.port(), single.port());
        assertEquals(0, options.getPort(), "the caller's options are left as they were");
    }

    @Test
    void aClosedSetNoLongerAccepts() throws Exception {
        WireListeners listeners =
                WireListeners.started(vertx, new NetServerOptions().setHost("127.0.0.1"), 2, NetSocket::close);
        int port = listeners.port();
        listeners.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket ignored = new Socket("127.0.0.1", port)) {
                assertTrue(System.nanoTime() < deadline, "still accepting on " + port);
                Thread.sleep(50);
            } catch (java.net.ConnectException refused) {
                return;
            }
        }
    }
}
