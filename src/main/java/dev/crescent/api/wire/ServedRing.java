package dev.crescent.api.wire;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import dev.crescent.api.grpc.MasterGrpcService;
import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import dev.crescent.master.access.Caller;
import dev.crescent.protocol.Lending;
import dev.crescent.protocol.MasterWire;
import dev.crescent.transfer.shm.CoreYield;
import dev.crescent.transfer.shm.RequestRing;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * One wire connection's request ring, served by a thread of its own: it takes each request posted in a slot, calls
 * it as the connection's caller (as the connection would, {@link WireCalls}) and answers into the slot. After each
 * request it keeps looking for the next for a little while, yielding its core between looks, before it sleeps on the
 * ring's doorbell: under load the next comes within that, and a caller that finds the thread awake need not wake it.
 * Yielding, not spinning: the callers copy their values into their segments on the same cores, and a thread that
 * spun held one of them (on 2 cores, 1 MiB puts' p99 went from 0.5 to 1.3-1.5 ms with a 50 us spin; DESIGN.md section 9,
 * twenty-fourth round).
 * The ring's file is deleted once the first request shows the caller mapped it, or when the ring closes; the ring
 * closes with its connection.
 *
 * <p>Only calls that never block are served (the thread must not wait on one caller's call while others post); a
 * slot's request is copied out of the file before it is read, its length bounded, and a slot is taken again only once
 * its answer is written (the thread's own record, not the file's state, says so).
 */
final class ServedRing {
    private static final Logger LOG = Logger.getLogger(ServedRing.class);
    /** How long the thread looks for the next request after one before it sleeps. */
    private static final long LOOK_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    /** The longest sleep between looks at whether the ring closed. */
    private static final long SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final RequestRing ring;
    private final Path file;
    private final Caller caller;
    private final MasterGrpcService service;
    private final MasterWireHandlers handlers;
    private final Runnable onClose;
    /** 1 while the slot's request is being called: it is not taken again until answered. */
    private final AtomicIntegerArray calling;
    /** One request at a time is read here: a call that cannot block is over with its request when it returns. */
    private final byte[] request;

    /** The thread's yielding while it looks for the next request. */
    private final CoreYield looking = new CoreYield();

    private final Thread thread;
    private volatile boolean closed;
    private boolean fileDeleted;

    ServedRing(
            RequestRing ring,
            Path file,
            Caller caller,
            MasterGrpcService service,
            MasterWireHandlers handlers,
            Runnable onClose) {
        this.ring = ring;
        this.file = file;
        this.caller = caller;
        this.service = service;
        this.handlers = handlers;
        this.onClose = onClose;
        this.calling = new AtomicIntegerArray(ring.slots());
        this.request = new byte[ring.payloadBytes()];
        this.thread = Thread.ofPlatform()
                .daemon()
                .name("crescent-ring-" + file.getFileName())
                .unstarted(this::serve);
    }

    void start() {
        thread.start();
    }

    Path file() {
        return file;
    }

    /** Stops serving; answers still on their way are written into a ring no one reads. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        thread.interrupt();
    }

    private void serve() {
        try {
            long lastRequest = System.nanoTime();
            while (!closed) {
                int seen = ring.doorbell();
                boolean took = false;
                for (int slot = 0; slot < ring.slots(); slot++) {
                    if (calling.get(slot) == 0 && ring.state(slot) == RequestRing.POSTED) {
                        calling.set(slot, 1);
                        call(slot);
                        took = true;
                    }
                }
                if (took) {
                    lastRequest = System.nanoTime();
                    deleteFile(); // the caller maps the ring: no one needs its name any more
                } else if (System.nanoTime() - lastRequest < LOOK_NANOS && looking.yieldOnce()) {
                    // callers on this core copy their values meanwhile
                } else {
                    ring.sleep(seen, SLEEP_NANOS);
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.errorf(e, "the request ring of %s stopped", caller);
        } finally {
            closed = true;
            deleteFile();
            onClose.run();
        }
    }

    /** Calls the request in {@code slot}; a request that cannot be read is answered with why. */
    private void call(int slot) {
        int length = ring.take(slot, request);
        if (length < MasterWire.REQUEST_HEADER) {
            fail(slot, 0, new StoreException(ErrorCode.INVALID_PARAMS, "ring request of length " + length));
            return;
        }
        int method = request[0] & 0xFF;
        int callId = ByteBuffer.wrap(request, 1, 4).getInt();
        MasterWireHandlers.Handler<?, ?> handler = handlers.get(method);
        if (handler == null || handler.blocking()) {
            fail(
                    slot,
                    callId,
                    new StoreException(
                            ErrorCode.INVALID_PARAMS, "master wire method " + method + " is not served over a ring"));
            return;
        }
        try {
            WireCalls.callOf(
                            service,
                            caller,
                            handler,
                            callId,
                            request,
                            0,
                            length,
                            null,
                            Lending.Room.HEAP,
                            new SlotOutcome(slot))
                    .run();
        } catch (RuntimeException e) {
            fail(slot, callId, WireCalls.storeError(e));
        }
    }

    /** Answers a call in its slot, from whichever thread its outcome comes on. */
    private final class SlotOutcome implements WireCalls.Outcome {
        private final int slot;

        SlotOutcome(int slot) {
            this.slot = slot;
        }

        @Override
        public void answer(int callId, MessageLite answer, Lending lending) {
            int size = LentAnswer.size(answer, lending);
            if (MasterWire.RESPONSE_HEADER + size > ring.payloadBytes()) {
                fail(
                        callId,
                        new StoreException(
                                ErrorCode.INTERNAL_ERROR,
                                "an answer of " + size + " bytes is larger than a ring slot"));
                return;
            }
            ByteBuffer payload = ring.payload(slot);
            payload.putInt(callId).putInt(0);
            try {
                CodedOutputStream body = CodedOutputStream.newInstance(payload.slice(payload.position(), size));
                LentAnswer.writeTo(answer, lending, body);
                body.checkNoSpaceLeft();
            } catch (IOException | RuntimeException e) {
                fail(callId, WireCalls.storeError(e));
                return;
            }
            answered(slot, MasterWire.RESPONSE_HEADER + size);
        }

        @Override
        public void fail(int callId, StoreException error) {
            ServedRing.this.fail(slot, callId, error);
        }
    }

    private void fail(int slot, int callId, StoreException error) {
        ByteBuffer payload = ring.payload(slot);
        ByteBuffer answer = WireCalls.failureAnswer(callId, error, payload.remaining());
        int length = answer.remaining();
        payload.put(answer);
        answered(slot, length);
    }

    private void answered(int slot, int length) {
        ring.answered(slot, length);
        calling.set(slot, 0);
        if (Thread.currentThread() != thread) {
            // The caller may have posted its next request in this slot while it was still being called, and the
            // thread, having passed it over, may be about to sleep: ring for it.
            ring.ring();
        }
    }

    private void deleteFile() {
        if (fileDeleted) {
            return;
        }
        fileDeleted = true;
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            LOG.debugf("cannot delete ring file %s: %s", file, e);
        }
    }
}
