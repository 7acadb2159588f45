package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;

import java.time.InstantSource;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waiting for a COMMIT to be durable in the op-log, bounded: a PutEnd is acknowledged only once it is, and fails
 * with METADATA_ERROR if the op-log does not confirm it within {@link #TIMEOUT_MILLIS}.
 *
 * <p>Answers waited for without a thread are failed by {@link #failOverdue}, which the master's periodic sweep runs
 * (so a timeout fires up to one sweep late). They wait in one queue in the order they were asked, which is also
 * the order of their deadlines, so a sweep stops at the first answer still in time. {@code orTimeout} would
 * schedule a task per PutEnd and cancel it again, waking the scheduler's thread twice per put: at thousands of
 * puts a second that thread took a seventh of a core on the leader.
 */
final class Durability {
    static final long TIMEOUT_MILLIS = 5_000;

    private record Waiting(long deadlineMillis, String key, CompletableFuture<Void> answer) {}

    private final InstantSource clock;
    private final Queue<Waiting> waiting = new ConcurrentLinkedQueue<>();

    Durability(InstantSource clock) {
        this.clock = clock;
    }

    /** The COMMIT's durability as the PutEnd's answer: failing with METADATA_ERROR if the op-log fails or is late. */
    CompletableFuture<Void> answer(CompletableFuture<Void> durable, String key) {
        if (durable.isDone() && !durable.isCompletedExceptionally()) {
            // Durable already (no op-log, or it confirmed first): nothing to wait for. Remembered until the next
            // sweep, every such put kept its entry, key and futures alive past young collections (tens of
            // thousands at a time under batched puts). A future of its own: the op-log's may be shared by a batch.
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> answer = new CompletableFuture<>();
        waiting.add(new Waiting(clock.millis() + TIMEOUT_MILLIS, key, answer));
        durable.whenComplete((ok, failure) -> {
            if (failure == null) {
                answer.complete(null);
            } else {
                answer.completeExceptionally(notDurable(key, causeOf(failure)));
            }
        });
        return answer;
    }

    /** Fails the answers whose deadline passed; forgets the ones already given. Run by one thread at a time. */
    void failOverdue() {
        long now = clock.millis();
        for (Waiting head = waiting.peek(); head != null; head = waiting.peek()) {
            if (!head.answer.isDone() && head.deadlineMillis > now) {
                return; // every answer behind it was asked later
            }
            waiting.poll();
            if (!head.answer.isDone()) { // most were answered: no exception is made for those
                head.answer.completeExceptionally(notDurable(head.key, new TimeoutException()));
            }
        }
    }

    /** How many answers are still remembered (given or not): for tests. */
    int remembered() {
        return waiting.size();
    }

    /** Waits on the calling thread (outside the key's atomic section). */
    static void await(CompletableFuture<Void> durable, String key) {
        try {
            durable.get(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw notDurable(key, causeOf(e));
        } catch (TimeoutException e) {
            throw notDurable(key, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw notDurable(key, e);
        }
    }

    private static Throwable causeOf(Throwable failure) {
        return (failure instanceof CompletionException || failure instanceof ExecutionException)
                        && failure.getCause() != null
                ? failure.getCause()
                : failure;
    }

    private static StoreException notDurable(String key, Throwable why) {
        String reason = why instanceof TimeoutException
                ? "no answer from the op-log in " + TIMEOUT_MILLIS / 1000 + " s"
                : String.valueOf(why.getMessage());
        return new StoreException(
                ErrorCode.METADATA_ERROR,
                "put of '" + key + "' is not durable yet (" + reason
                        + "); it becomes durable once the op-log is reachable");
    }
}
