package dev.crescent.client;

import dev.crescent.api.grpc.proto.KeyRequest;
import dev.crescent.api.grpc.proto.MasterServiceGrpc;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How the wire client reacts to peers that do not behave: each on a real socket on 127.0.0.1. */
class MasterWireChannelTest {
    private static final KeyRequest REQUEST = KeyRequest.newBuilder().setKey("k").build();

    @Test
    void aMasterThatDoesNotUpgradeIsRefusedSoTheClientCanFallBack() throws Exception {
        try (Peer peer = new Peer(socket -> answer(socket, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"));
             MasterWireChannel channel = new MasterWireChannel(peer.address(), "n")) {
            assertThrows(MasterWireChannel.Refused.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5)));
        }
    }

    @Test
    void aSilentMasterTimesOutWithinTheDeadline() throws Exception {
        try (Peer peer = new Peer(socket -> answer(socket, "HTTP/1.1 101 Switching Protocols\r\n\r\n"));
             MasterWireChannel channel = new MasterWireChannel(peer.address(), "n")) {
            long started = System.nanoTime();
            StoreException e = assertThrows(StoreException.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofMillis(300)));
            long tookMillis = (System.nanoTime() - started) / 1_000_000;
            assertEquals(ErrorCode.RPC_TIMEOUT, e.code());
            assertTrue(tookMillis >= 250 && tookMillis < 5_000, "timed out after " + tookMillis + " ms");
        }
    }

    @Test
    void aConnectionClosedMidCallIsAnRpcFailure() throws Exception {
        try (Peer peer = new Peer(socket -> {
            answer(socket, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
            try {
                socket.getInputStream().read(new byte[16]); // the request arrives, then the master goes away
                socket.close();
            } catch (IOException ignored) {
                // the test fails on the client side if this goes wrong
            }
        }); MasterWireChannel channel = new MasterWireChannel(peer.address(), "n")) {
            StoreException e = assertThrows(StoreException.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5)));
            assertEquals(ErrorCode.RPC_FAIL, e.code());
        }
    }

    @Test
    void nobodyListeningIsAnRpcFailure() throws Exception {
        String address;
        try (ServerSocket closed = new ServerSocket(0)) {
            address = "127.0.0.1:" + closed.getLocalPort();
        }
        try (MasterWireChannel channel = new MasterWireChannel(address, "n")) {
            StoreException e = assertThrows(StoreException.class,
                    () -> channel.call(MasterServiceGrpc.getExistMethod(), REQUEST, Duration.ofSeconds(5)));
            assertEquals(ErrorCode.RPC_FAIL, e.code());
        }
    }

    /** Reads the upgrade request's head, then writes {@code response}. */
    private static void answer(Socket socket, String response) {
        try {
            InputStream in = socket.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) {
                    return;
                }
                head.append((char) b);
            }
            socket.getOutputStream().write(response.getBytes(StandardCharsets.ISO_8859_1));
        } catch (IOException ignored) {
            // the test fails on the client side if this goes wrong
        }
    }

    /** A peer on 127.0.0.1 that treats its one connection as told and keeps it open until closed. */
    private static final class Peer implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0);
        private final Thread thread;
        private volatile Socket accepted;

        Peer(Consumer<Socket> behaviour) throws IOException {
            thread = Thread.ofPlatform().daemon().start(() -> {
                try {
                    accepted = server.accept();
                    behaviour.accept(accepted);
                } catch (IOException ignored) {
                    // closed by the test
                }
            });
        }

        String address() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        @Override
        public void close() throws Exception {
            server.close();
            if (accepted != null) {
                accepted.close();
            }
            thread.join(5000);
        }
    }
}
