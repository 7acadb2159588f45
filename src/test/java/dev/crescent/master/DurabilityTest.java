package dev.crescent.master;

import dev.crescent.common.ErrorCode;
import dev.crescent.common.StoreException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DurabilityTest {
    private final ManualClock clock = new ManualClock();
    private final Durability durability = new Durability(clock);

    @Test
    void anAnswerIsGivenWhenTheOpLogConfirms() {
        CompletableFuture<Void> durable = new CompletableFuture<>();
        CompletableFuture<Void> answer = durability.answer(durable, "k");
        durability.failOverdue();
        assertFalse(answer.isDone());
        durable.complete(null);
        assertTrue(answer.isDone() && !answer.isCompletedExceptionally());
    }

    @Test
    void anAnswerTheOpLogDoesNotConfirmInTimeFailsAtTheFirstSweepPastItsDeadline() {
        CompletableFuture<Void> durable = new CompletableFuture<>();
        CompletableFuture<Void> answer = durability.answer(durable, "late/k");
        clock.advance(Duration.ofMillis(Durability.TIMEOUT_MILLIS - 1));
        durability.failOverdue();
        assertFalse(answer.isDone(), "not before its deadline");
        clock.advance(Duration.ofMillis(1));
        durability.failOverdue();
        StoreException e = failureOf(answer);
        assertEquals(ErrorCode.METADATA_ERROR, e.code());
        assertTrue(
                e.getMessage().contains("late/k") && e.getMessage().contains("no answer from the op-log"),
                e.getMessage());
        durable.complete(null); // a confirmation after the deadline changes nothing already answered
        assertTrue(answer.isCompletedExceptionally());
    }

    @Test
    void aFailedOpLogWriteFailsTheAnswerWithItsReason() {
        CompletableFuture<Void> durable = new CompletableFuture<>();
        CompletableFuture<Void> answer = durability.answer(durable, "k");
        durable.completeExceptionally(new IllegalStateException("etcd refused the batch"));
        StoreException e = failureOf(answer);
        assertEquals(ErrorCode.METADATA_ERROR, e.code());
        assertTrue(e.getMessage().contains("etcd refused the batch"), e.getMessage());
    }

    @Test
    void answersGivenAreForgottenByTheNextSweepAndOnesStillInTimeAreKept() {
        CompletableFuture<Void> slow = new CompletableFuture<>();
        List<CompletableFuture<Void>> quick = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            CompletableFuture<Void> durable = new CompletableFuture<>();
            quick.add(durability.answer(durable, "quick/" + i));
            durable.complete(null); // confirmed after it was asked: remembered until a sweep
        }
        CompletableFuture<Void> slowAnswer = durability.answer(slow, "slow");
        durability.failOverdue();
        assertEquals(1, durability.remembered(), "what was answered is not kept until its deadline");
        assertFalse(slowAnswer.isDone());
        assertTrue(quick.stream().allMatch(f -> f.isDone() && !f.isCompletedExceptionally()));
        clock.advance(Duration.ofMillis(Durability.TIMEOUT_MILLIS));
        durability.failOverdue();
        assertEquals(ErrorCode.METADATA_ERROR, failureOf(slowAnswer).code());
        assertEquals(0, durability.remembered());
    }

    @Test
    void aCommitDurableAlreadyIsAnsweredAtOnceAndNotRemembered() {
        CompletableFuture<Void> answer = durability.answer(CompletableFuture.completedFuture(null), "k");
        assertTrue(answer.isDone() && !answer.isCompletedExceptionally());
        assertEquals(0, durability.remembered(), "nothing waits for a sweep to forget it");
        CompletableFuture<Void> failed = new CompletableFuture<>();
        failed.completeExceptionally(new IllegalStateException("the op-log writer is closed"));
        assertEquals(
                ErrorCode.METADATA_ERROR,
                failureOf(durability.answer(failed, "k")).code());
    }

    @Test
    void aBlockingWaitFailsWithTheSameError() {
        CompletableFuture<Void> durable = new CompletableFuture<>();
        durable.completeExceptionally(new IllegalStateException("the op-log writer is closed"));
        StoreException e = assertThrows(StoreException.class, () -> Durability.await(durable, "k"));
        assertEquals(ErrorCode.METADATA_ERROR, e.code());
        assertTrue(e.getMessage().contains("the op-log writer is closed"), e.getMessage());
    }

    private static StoreException failureOf(CompletableFuture<Void> answer) {
        CompletionException e = assertThrows(CompletionException.class, answer::join);
        return (StoreException) e.getCause();
    }
}
