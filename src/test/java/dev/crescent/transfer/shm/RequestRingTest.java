package dev.crescent.transfer.shm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A request ring through two separate mappings of one file, as a caller process and the master have it: posts,
 * answers and futex wake-ups cross between them, and the server side bounds what the file claims.
 */
class RequestRingTest {
    private static final int SLOTS = 4;
    private static final int PAYLOAD = 1024;

    private RingFile file;
    private RequestRing server;
    private RequestRing caller;

    @BeforeEach
    void mapTwice() throws IOException {
        assumeTrue(Futex.available(), "futexes need linux-x86_64 with FFM downcalls");
        file = new RingFile(SLOTS, PAYLOAD);
        server = RequestRing.format(file.mapped(), SLOTS, PAYLOAD);
        caller = RequestRing.open(file.mapped());
    }

    @AfterEach
    void unmap() throws IOException {
        if (file != null) {
            file.close();
        }
    }

    @Test
    void aPostedRequestIsTakenAndItsAnswerWakesASleepingCaller() throws Exception {
        assertEquals(SLOTS, caller.slots());
        assertEquals(PAYLOAD, caller.payloadBytes());
        byte[] request = "exist a/key".getBytes(StandardCharsets.UTF_8);
        caller.payload(2).put(request);
        caller.post(2, request.length);
        assertEquals(RequestRing.POSTED, server.state(2));

        byte[] taken = new byte[PAYLOAD];
        assertEquals(request.length, server.take(2, taken));
        assertArrayEquals(request, java.util.Arrays.copyOf(taken, request.length));

        // The caller yields for 50 us, then sleeps; only the server's wake-up can end its wait before 20 s.
        CompletableFuture<Boolean> waited =
                CompletableFuture.supplyAsync(() -> caller.awaitAnswer(2, TimeUnit.SECONDS.toNanos(20)));
        Thread.sleep(100);
        long answeredAt = System.nanoTime();
        byte[] answer = "yes".getBytes(StandardCharsets.UTF_8);
        server.payload(2).put(answer);
        server.answered(2, answer.length);
        assertTrue(waited.get(10, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - answeredAt < TimeUnit.SECONDS.toNanos(10), "woken, not timed out");
        assertEquals(answer.length, caller.length(2));
        byte[] read = new byte[answer.length];
        caller.payload(2).get(read);
        assertArrayEquals(answer, read);
        caller.free(2);
        assertEquals(RequestRing.FREE, server.state(2));
    }

    /** A wait shorter than the caller's yielding, or longer, ends when it should, with no answer. */
    @Test
    void aCallerWithNoAnswerWaitsNoLongerThanAsked() {
        caller.post(3, 0);
        for (long waitNanos : new long[] {TimeUnit.MICROSECONDS.toNanos(5), TimeUnit.MILLISECONDS.toNanos(50)}) {
            long start = System.nanoTime();
            assertFalse(caller.awaitAnswer(3, waitNanos));
            long waited = System.nanoTime() - start;
            assertTrue(waited >= waitNanos, "waited " + waited + " ns of " + waitNanos);
            assertTrue(waited < waitNanos + TimeUnit.SECONDS.toNanos(2), "waited " + waited + " ns of " + waitNanos);
        }
    }

    @Test
    void aPostWakesASleepingServer() throws Exception {
        int seen = server.doorbell();
        CompletableFuture<Void> slept =
                CompletableFuture.runAsync(() -> server.sleep(seen, TimeUnit.SECONDS.toNanos(20)));
        Thread.sleep(100);
        assertFalse(slept.isDone(), "nothing was posted: the server sleeps");
        caller.post(0, 0);
        slept.get(10, TimeUnit.SECONDS);
        assertEquals(RequestRing.POSTED, server.state(0));
    }

    @Test
    void aServerThatReadTheDoorbellBeforeAPostDoesNotSleepThroughIt() {
        int seen = server.doorbell();
        caller.post(1, 0);
        long start = System.nanoTime();
        server.sleep(seen, TimeUnit.SECONDS.toNanos(20));
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the bell moved: no sleep");
    }

    @Test
    void aLengthOutOfBoundsIsNeverCopied() {
        byte[] into = new byte[PAYLOAD];
        caller.post(0, PAYLOAD + 1);
        assertEquals(-1, server.take(0, into));
        caller.post(1, -5);
        assertEquals(-1, server.take(1, into));
        caller.post(3, PAYLOAD);
        assertEquals(-1, server.take(3, new byte[PAYLOAD - 1]), "nor past the reader's own buffer");
        assertEquals(PAYLOAD, server.take(3, into));
    }

    @Test
    void aFileThatHoldsNoRingIsNotOpened() throws IOException {
        MemorySegment blank = file.unrelated();
        assertNull(RequestRing.open(blank), "no magic");
        MemorySegment small = file.unrelated();
        RequestRing.format(small, SLOTS, PAYLOAD);
        assertNull(RequestRing.open(small.asSlice(0, RequestRing.fileBytes(SLOTS, PAYLOAD) - 1)), "cut short");
    }
}
