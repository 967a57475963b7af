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
 * <p>Every write is a CAS from the value the writer read, and only forward, so a thread that
 * stalled between reading the ticker and publishing cannot move the time back. A writer that loses
 * the CAS to a reading more than a step behind its own (the winner's thread held up between its
 * reading and its publishing) tries again: without that, its own lookup would record its key's
 * access at the earlier time, and the key could expire, and refill, early by the hold-up. Nor does
 * a ticker that jumps back: a state is full again at most its idle window after the latest time any
 * decision on it read, not the latest time its key was looked up, so Caffeine must measure
 * idleness from the highest reading. (Following the ticker back let a key looked up after a step
 * back expire while its state still refilled from before it, and come back full.) The cost is
 * that after a step back nothing expires by age until the ticker is past its old high again;
 * {@code maxKeys} still bounds the cache.
 */
final class CacheClock implements com.github.benmanes.caffeine.cache.Ticker {

    static final long STEP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

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

    /**
     * Publishes {@code now} if it moved the time on by more than a step; never moves it back.
     * Returns the time a decision uses: {@code now}, or, when that is more than {@code maxBack}
     * behind the published time, the time {@code maxBack} behind it (see
     * {@link Strategy#maxBackNanos()}). The published time is the highest reading it knows, so it
     * is a cheap stand-in for the latest time any state has seen.
     */
    long observe(long now, long maxBack) {
        long seen = published;
        long ahead = now - seen;
        if (ahead > STEP_NANOS) {
            long won = (long) PUBLISHED.compareAndExchange(this, seen, now);
            if (won != seen && now - won > STEP_NANOS) {
                publishAfterLosing(now);
            }
        }
        return ahead < -maxBack ? seen - maxBack : now;
    }

    /**
     * Publishes {@code now} after another request's reading, more than a step earlier, won the
     * race (its thread was held up between its reading and its publishing): this one must still
     * go in. Rare, and so out of line, behind a test that profiling never sees pass in a busy
     * process, where racing readings are nanoseconds apart: the hot path's compiled size decides
     * whether it inlines into its caller (see MemoryRateLimiter#tryAcquire).
     */
    private void publishAfterLosing(long now) {
        long seen = published;
        while (now - seen > STEP_NANOS && !PUBLISHED.compareAndSet(this, seen, now)) {
            seen = published;
        }
    }

    @Override
    public long read() {
        return published;
    }
}
