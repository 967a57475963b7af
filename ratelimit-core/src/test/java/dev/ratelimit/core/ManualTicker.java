package dev.ratelimit.core;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A ticker that moves only when a test moves it; shared by every store's tests. */
public final class ManualTicker implements Ticker {

    private final AtomicLong nanos;

    /** Starts at an arbitrary non-zero origin, as {@link System#nanoTime()} does. */
    public ManualTicker() {
        this(1_000_000_000_000L);
    }

    public ManualTicker(long startNanos) {
        this.nanos = new AtomicLong(startNanos);
    }

    @Override
    public long read() {
        return nanos.get();
    }

    public ManualTicker advance(Duration duration) {
        nanos.addAndGet(duration.toNanos());
        return this;
    }

    public ManualTicker advanceMillis(long millis) {
        return advance(Duration.ofMillis(millis));
    }

    public ManualTicker advanceNanos(long delta) {
        nanos.addAndGet(delta);
        return this;
    }

    /** A sleeper that advances this ticker instead of waiting, recording the total it was asked to wait. */
    public Sleeper sleeper(AtomicLong slept) {
        return delta -> {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException();
            }
            slept.addAndGet(delta);
            advanceNanos(delta);
        };
    }
}
