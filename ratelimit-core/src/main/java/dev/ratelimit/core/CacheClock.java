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
 * that stalled between reading the ticker and publishing cannot move the time back. Nor does a
 * ticker that jumps back: a state is full again at most its idle window after the latest time any
 * decision on it read, not the latest time its key was looked up, so Caffeine must measure
 * idleness from the highest reading. (Following the ticker back let a key looked up after a step
 * back expire while its state still refilled from before it, and come back full.) The cost is
 * that after a step back nothing expires by age until the ticker is past its old high again;
 * {@code maxKeys} still bounds the cache.
 *
 * <p>One interleaving stays open: a request whose thread was held up for more than a step between
 * reading the ticker and publishing wins the CAS against a request with a later reading, which
 * then goes on without publishing and records its key's access at the earlier time. Had that key
 * no other request, it could expire up to the hold-up less a step early, and so refill early by
 * as much. A loser that retries closes it (two threads observing readings 40 ms apart hit the
 * race within a few dozen rounds), but every form of the retry tried (a loop, a call, a test of
 * the CAS's witness) grew the sliding log's compiled hot path past the size up to which it
 * inlines into its caller: at two threads half the forks or more then allocated a 48-byte
 * Decision per request, against one in eight without it (JMH {@code -prof gc}, 8 forks each, on
 * one 2-vCPU VM). The retry waits for a way to make that room.
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
            PUBLISHED.compareAndSet(this, seen, now);
        }
        return ahead < -maxBack ? seen - maxBack : now;
    }

    @Override
    public long read() {
        return published;
    }
}
