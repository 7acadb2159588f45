package dev.crescent.master;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** An op-log that hands each entry to a sink and confirms it at once: what a leader's etcd op-log does, in memory. */
final class RecordingOpLog implements OpLog {
    private final Consumer<OpLogEntry> sink;

    RecordingOpLog(Consumer<OpLogEntry> sink) {
        this.sink = sink;
    }

    @Override
    public CompletableFuture<Void> record(OpLogEntry entry) {
        sink.accept(entry);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public boolean accepting() {
        return true;
    }
}
