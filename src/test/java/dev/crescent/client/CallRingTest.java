package dev.crescent.client;

import com.google.protobuf.StringValue;
import dev.crescent.protocol.MasterWire;
import dev.crescent.transfer.shm.Futex;
import dev.crescent.transfer.shm.RequestRing;
import dev.crescent.transfer.shm.RingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The client's side of a request ring against a ring file and a real connection this test holds as the master would:
 * calls cross the slots and reuse them, and a master that closes the ring's connection or never answers ends the
 * call with an error instead of a hang, after which the client calls over sockets.
 */
class CallRingTest {
    private static final int SLOTS = 2;
    private static final int PAYLOAD = 512;

    private RingFile file;
    private RequestRing master;
    private ServerSocketChannel listener;
    private SocketChannel accepted;
    private CallRing ring;

    @BeforeEach
    void open() throws IOException {
        assumeTrue(Futex.available(), "futexes need linux-x86_64 with FFM downcalls");
        file = new RingFile(SLOTS, PAYLOAD);
        master = RequestRing.format(file.mapped(), SLOTS, PAYLOAD);
        listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        SocketChannel connection = SocketChannel.open(listener.getLocalAddress());
        accepted = listener.accept();
        ring = CallRing.mapped(file.path().toString(), connection, () -> {
            try {
                connection.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        });
    }

    @AfterEach
    void close() throws IOException {
        if (ring != null) {
            ring.close();
        }
        if (accepted != null) {
            accepted.close();
            listener.close();
        }
        if (file != null) {
            file.close();
        }
    }

    @Test
    void callsCrossTheSlotsAndReuseThem() throws Exception {
        CompletableFuture<Void> serving = CompletableFuture.runAsync(() -> answerEach(10));
        for (int call = 0; call < 10; call++) {
            String got = ring.call(
                    7,
                    StringValue.of("request " + call),
                    new TrailingBytes(2, List.of(MemorySegment.ofArray(new byte[] {1, 2, 3}))),
                    10_000,
                    (code, payload) -> code + ":" + StandardCharsets.UTF_8.decode(payload));
            assertEquals("0:echo " + call, got);
        }
        serving.get(10, TimeUnit.SECONDS);
        assertNull(
                ring.call(7, StringValue.of("x".repeat(PAYLOAD)), TrailingBytes.NONE, 1000, (code, payload) -> code),
                "a request larger than a slot goes over a socket");
    }

    /** Answers {@code calls} requests as the master's ring thread would, each with "echo" and its number. */
    private void answerEach(int calls) {
        byte[] request = new byte[PAYLOAD];
        for (int served = 0; served < calls; ) {
            for (int slot = 0; slot < SLOTS; slot++) {
                if (master.state(slot) != RequestRing.POSTED) {
                    continue;
                }
                int length = master.take(slot, request);
                ByteBuffer frame = ByteBuffer.wrap(request, 0, length);
                assertEquals(7, frame.get());
                int callId = frame.getInt();
                String message;
                try {
                    message = StringValue.parseFrom(ByteBuffer.wrap(
                                    request, MasterWire.REQUEST_HEADER, length - MasterWire.REQUEST_HEADER - 5))
                            .getValue();
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
                assertEquals(3, request[length - 1], "the trailing entry follows the message");
                master.payload(slot)
                        .putInt(callId)
                        .putInt(0)
                        .put(("echo " + message.substring(8)).getBytes(StandardCharsets.UTF_8));
                master.answered(
                        slot,
                        MasterWire.RESPONSE_HEADER + 5 + message.substring(8).length());
                served++;
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void aMasterThatClosesTheRingsConnectionEndsAWaitingCall() throws Exception {
        CompletableFuture<Object> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return ring.call(
                        7, StringValue.of("never answered"), TrailingBytes.NONE, 60_000, (code, payload) -> code);
            } catch (IOException e) {
                return e;
            }
        });
        Thread.sleep(200);
        accepted.close(); // the master went away
        assertInstanceOf(EOFException.class, waiting.get(10, TimeUnit.SECONDS), "an error, long before the deadline");
        assertTrue(ring.broken());
        assertNull(ring.call(7, StringValue.of("next"), TrailingBytes.NONE, 1000, (code, payload) -> code));
    }

    @Test
    void aCallNotAnsweredInTimeBreaksTheRing() throws Exception {
        assertThrows(
                SocketTimeoutException.class,
                () -> ring.call(7, StringValue.of("slow"), TrailingBytes.NONE, 200, (code, payload) -> code));
        assertTrue(ring.broken(), "its slot may still be answered: the ring is not used again");
        assertNull(ring.call(7, StringValue.of("next"), TrailingBytes.NONE, 1000, (code, payload) -> code));
    }
}
