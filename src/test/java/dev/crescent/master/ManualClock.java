package dev.crescent.master;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

/** A clock tests move by hand, so timeouts are checked without sleeping. */
public final class ManualClock implements InstantSource {
    private volatile long millis = 1_000_000;

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis);
    }

    @Override
    public long millis() {
        return millis;
    }

    public void advance(Duration by) {
        millis += by.toMillis();
    }
}
