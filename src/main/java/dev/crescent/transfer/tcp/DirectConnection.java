package dev.crescent.transfer.tcp;

import java.io.IOException;
import java.util.List;

/**
 * A connection that one caller at a time borrows to send its slices and read their answers itself. The answer
 * goes from the socket to the waiting thread: no reader thread to wake and no hand-off back to the caller, which
 * on a small machine is a visible share of a megabyte's transfer time. The pipelined {@link PeerChannel}s serve
 * callers that do not wait (async transfers and batches).
 */
final class DirectConnection {
    private final TransferChannel channel;
    private final RequestWriter out = new RequestWriter();
    private final ResponseReader in;
    private long nextRequestId;
    /** The deadline of the run in progress, 0 when idle; past it {@link #expire} closes the channel under the run. */
    private volatile long deadlineNanos;
    /** Slices of the run in progress (what a graceful close waits for). */
    private volatile int running;

    private volatile boolean broken;

    DirectConnection(TransferChannel channel) {
        this.channel = channel;
        this.in = new ResponseReader(channel);
    }

    /**
     * Sends the slices and reads their answers in order, completing each (failed with the server's code when it
     * refused). IOException when the connection broke or timed out: the slices not answered stay incomplete, and
     * the connection is closed.
     */
    void run(List<Slice> slices) throws IOException {
        long deadline = slices.getFirst().deadlineNanos;
        for (Slice slice : slices) {
            slice.requestId = ++nextRequestId;
            if (slice.deadlineNanos - deadline < 0) {
                deadline = slice.deadlineNanos;
            }
        }
        running = slices.size();
        deadlineNanos = deadline;
        try {
            out.write(channel, slices);
            for (Slice slice : slices) {
                long answered = in.next();
                if (answered != slice.requestId) {
                    throw new IOException("answer to request " + answered + " while waiting for " + slice.requestId);
                }
                in.readPayload(slice);
                in.complete(slice);
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? io : new IOException(e);
        } finally {
            deadlineNanos = 0;
            running = 0;
        }
    }

    boolean isBroken() {
        return broken;
    }

    int inFlight() {
        return running;
    }

    /** Closes the channel when the run in progress is past its deadline (the blocked caller then fails). */
    void expire(long nowNanos) {
        long deadline = deadlineNanos;
        if (deadline != 0 && nowNanos - deadline > 0) {
            close();
        }
    }

    void close() {
        broken = true;
        channel.closeQuietly();
    }
}
