package dev.ratelimit.redis;

import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Makes a Redis outage cost one timeout rather than one per request. The first failed call opens
 * the breaker; while it is open, calls fail at once without touching Redis. Once
 * {@code waitNanos} have passed, exactly one call (the probe) goes through: its success closes
 * the breaker, its failure keeps it open for another {@code waitNanos}. Real time
 * ({@link System#nanoTime()}), never a test ticker: outages happen in real time.
 *
 * <p>Memory ordering: {@code retryAt} is written before the volatile {@code open}, so a thread
 * that sees {@code open} sees the matching {@code retryAt}. Races between a failure and a
 * concurrent success are benign: either outcome is followed by the next call's own result.
 *
 * <p>Logging is rate-limited: one warning when the breaker opens (at most every ten seconds),
 * one message when it closes, with the number of calls decided without Redis in between.
 */
final class CircuitBreaker {

    private static final System.Logger LOG = System.getLogger(RedisRateLimiter.class.getName());
    private static final long LOG_INTERVAL_NANOS = 10_000_000_000L;

    private final long waitNanos;
    private final FailureMode mode;
    private final AtomicBoolean probing = new AtomicBoolean();
    private final LongAdder failures = new LongAdder();
    private final LongAdder fallbacks = new LongAdder();
    private volatile long retryAt;
    private volatile boolean open;
    private volatile long lastWarning = System.nanoTime() - LOG_INTERVAL_NANOS;
    private volatile String lastError = "";

    CircuitBreaker(long waitNanos, FailureMode mode) {
        this.waitNanos = waitNanos;
        this.mode = mode;
    }

    /** Whether a call may go to Redis now; true for the single probe of an open breaker. */
    boolean allow() {
        if (!open) {
            return true;
        }
        return System.nanoTime() - retryAt >= 0 && probing.compareAndSet(false, true);
    }

    void succeeded() {
        if (open) {
            open = false;
            LOG.log(Level.INFO, "Redis rate limiting resumed; " + fallbacks.sum() + " decisions so far were made"
                    + " without Redis (failure mode " + mode + ")");
        }
        probing.set(false);
    }

    /** A call to Redis failed or timed out: counted in {@link #failures()}, and the breaker opens. */
    void failed(Throwable cause) {
        failures.increment();
        trip(cause);
    }

    /**
     * A request timed out before it could be sent, behind calls that took too long: Redis is not
     * keeping up, so the breaker opens as for a timeout, but no call failed, and none is counted.
     */
    void timedOutUnsent(Throwable cause) {
        trip(cause);
    }

    private void trip(Throwable cause) {
        lastError = String.valueOf(cause.getMessage());
        long now = System.nanoTime();
        retryAt = now + waitNanos;
        boolean opened = !open;
        open = true;
        probing.set(false);
        if (opened && now - lastWarning >= LOG_INTERVAL_NANOS) {
            lastWarning = now;
            LOG.log(Level.WARNING, "Redis rate limiting unavailable, failure mode " + mode + " until Redis answers"
                    + " again (retrying every " + waitNanos / 1_000_000 + " ms): " + cause.getMessage());
        }
    }

    void fellBack() {
        fallbacks.increment();
    }

    boolean isOpen() {
        return open;
    }

    long failures() {
        return failures.sum();
    }

    long fallbacks() {
        return fallbacks.sum();
    }

    String lastError() {
        return lastError;
    }
}
