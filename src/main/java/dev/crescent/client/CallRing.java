package dev.crescent.client;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import dev.crescent.protocol.MasterWire;
import dev.crescent.transfer.shm.RequestRing;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A request ring the master opened for one wire connection of this client ({@link MasterWire#RING_OPEN}): a call
 * whose request fits a slot is written there and its answer read from there, with no socket round trip. The ring
 * lives as long as that connection, which carries nothing else: the master closing it (a restart, a failover) is
 * how a waiting call learns the ring is dead. A call that finds no free slot, or does not fit, goes over a socket.
 */
final class CallRing implements AutoCloseable {
    /** How often a sleeping caller looks at whether the ring's connection is still open. */
    private static final long LOOK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final RequestRing ring;
    private final SocketChannel connection;
    private final Runnable closeConnection;
    private final ConcurrentLinkedQueue<Integer> freeSlots = new ConcurrentLinkedQueue<>();
    private final AtomicInteger nextCallId = new AtomicInteger();
    private final ByteBuffer probe = ByteBuffer.allocate(1);
    private volatile boolean broken;

    private CallRing(RequestRing ring, SocketChannel connection, Runnable closeConnection) {
        this.ring = ring;
        this.connection = connection;
        this.closeConnection = closeConnection;
        for (int slot = 0; slot < ring.slots(); slot++) {
            freeSlots.add(slot);
        }
    }

    /**
     * Maps the ring the master answered at {@code path} for the open {@code connection} (blocking, holding nothing
     * else from now on).
     *
     * @throws IOException when the file is not a ring this client can map
     */
    static CallRing mapped(String path, SocketChannel connection, Runnable closeConnection) throws IOException {
        Path file = Path.of(path);
        if (!file.isAbsolute() || !file.getFileName().toString().startsWith("crescent-ring-")) {
            throw new IOException("the master named " + path + " as its request ring");
        }
        MemorySegment mapped;
        try (FileChannel channel =
                FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size(), Arena.ofAuto());
        }
        RequestRing ring = RequestRing.open(mapped);
        if (ring == null) {
            throw new IOException(path + " does not hold a request ring");
        }
        connection.configureBlocking(false); // read only to learn that the master closed it
        return new CallRing(ring, connection, closeConnection);
    }

    boolean broken() {
        return broken;
    }

    /**
     * Calls {@code method} with {@code request} and {@code trailing}'s entries through the ring: its answer as an answer frame's code and payload
     * ({@code take} reads them, inside the slot's bytes), or null when no slot is free or the request does not fit
     * one (the caller goes over a socket).
     *
     * @throws SocketTimeoutException when no answer came within {@code timeoutMillis}; the ring is then broken
     * @throws IOException            when the ring's connection closed: the ring is dead
     */
    <R> R call(int method, MessageLite request, TrailingBytes trailing, int timeoutMillis, Answer<R> take)
            throws IOException {
        int size = request.getSerializedSize() + trailing.encodedSize();
        if (broken || MasterWire.REQUEST_HEADER + size > ring.payloadBytes()) {
            return null;
        }
        Integer slot = freeSlots.poll();
        if (slot == null) {
            return null;
        }
        boolean answered = false;
        try {
            ByteBuffer payload = ring.payload(slot);
            int callId = nextCallId.getAndIncrement();
            payload.put((byte) method).putInt(callId);
            CodedOutputStream body = CodedOutputStream.newInstance(payload);
            request.writeTo(body);
            trailing.writeTo(body);
            body.flush();
            ring.post(slot, MasterWire.REQUEST_HEADER + size);
            awaitAnswer(slot, TimeUnit.MILLISECONDS.toNanos(timeoutMillis));
            answered = true;
            int length = ring.length(slot);
            if (length < MasterWire.RESPONSE_HEADER || length > ring.payloadBytes()) {
                throw new IOException("malformed ring answer (length " + length + ")");
            }
            ByteBuffer answer = ring.payload(slot).limit(length);
            if (answer.getInt() != callId) {
                throw new IOException("a ring answer to another call");
            }
            int code = answer.getInt();
            return take.read(code, answer);
        } catch (IOException | RuntimeException e) {
            broken = true; // the slot's state is unknown: no call uses this ring any more
            throw e;
        } finally {
            if (answered && !broken) {
                ring.free(slot);
                freeSlots.add(slot);
            }
        }
    }

    /** What a call makes of its answer's code and payload (valid only until it returns). */
    @FunctionalInterface
    interface Answer<R> {
        R read(int code, ByteBuffer payload) throws IOException;
    }

    private void awaitAnswer(int slot, long timeoutNanos) throws IOException {
        long start = System.nanoTime();
        // Yields its core for a moment, then sleeps (RequestRing.awaitAnswer): no spinning, since callers outnumber
        // cores under load and each spinning one takes a core from the master's ring thread (DESIGN.md section 9).
        while (!ring.awaitAnswer(slot, Math.min(LOOK_NANOS, timeoutNanos - (System.nanoTime() - start)))) {
            if (connectionClosed()) {
                throw new EOFException("the master closed the request ring's connection");
            }
            if (System.nanoTime() - start >= timeoutNanos) {
                throw new SocketTimeoutException("no answer in the request ring");
            }
        }
    }

    private boolean connectionClosed() {
        try {
            synchronized (probe) {
                probe.clear();
                return connection.read(probe) != 0; // the master sends nothing on it: bytes or an end mean it is gone
            }
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() {
        broken = true;
        closeConnection.run();
    }
}
