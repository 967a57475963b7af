package dev.ratelimit.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * Caffeine's clock: the limiter's own latest reading, so Caffeine never reads the ticker itself.
 *
 * <p>Reading {@link System#nanoTime()} costs as much as the rest of a decision, and Caffeine would
 * read it again on every lookup to check expiry. Instead each request publishes the time it has
 * just read, before its lookup, whenever that moves the published time forward by more than
 * {@link #STEP_NANOS}. So while requests arrive, Caffeine's time trails the decisions' time by at
 * most {@code STEP_NANOS}, and the limiter's expiry adds that much: an entry still expires only
 * after its state is full again. When no request arrives the published time stands still, which
 * only delays clean-up, never a decision.
 *
 * <p>Only one thread writes at a time and only forward (a CAS from the value it read), so a thread
 * that stalled between reading the ticker and publishing cannot move the time back. A ticker that
 * jumps back by more than {@link #JUMP_NANOS} is followed back, so that Caffeine never runs
 * further ahead of the decisions than that; the limiter's expiry also allows for it.
 */
final class CacheClock implements com.github.benmanes.caffeine.cache.Ticker {

    static final long STEP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long JUMP_NANOS = TimeUnit.SECONDS.toNanos(1);

    private static final VarHandle PUBLISHED;

    static {
        try {
            PUBLISHED = MethodHandles.lookup().findVarHandle(CacheClock.class, "published", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile long published;

    CacheClock(long now) {
        this.published = now;
    }

    /** Publishes {@code now} if it moved the time on by more than a step, or back by more than a jump. */
    void observe(long now) {
        long seen = published;
        long ahead = now - seen;
        if (ahead > STEP_NANOS || ahead < -JUMP_NANOS) {
            PUBLISHED.compareAndSet(this, seen, now);
        }
    }

    @Override
    public long read() {
        return published;
    }
}
