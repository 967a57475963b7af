package dev.ratelimit.core;

import dev.ratelimit.core.AbstractRateLimiter.Reservation;

/**
 * One algorithm over one key's state. The limiter finds the state; the strategy decides.
 *
 * <p>A strategy owns the state object it creates and makes each operation on it atomic (a CAS on
 * one word, or the state's monitor), so that requests for different keys never contend and no
 * interleaving admits more than a limit. Times are ticker nanoseconds read once per request.
 */
interface Strategy {

    /** Returns the state of a key never seen before, or one idle so long that it is full again. */
    Object newState(long now);

    /** Takes {@code permits} if every limit allows them at {@code now}; otherwise takes nothing. */
    Decision tryAcquire(Object state, long now, long permits);

    /** The figures for one permit at {@code now}, consuming nothing. */
    Decision peek(Object state, long now);

    /**
     * For algorithms that queue (the leaky bucket): reserves the earliest slot that is at most
     * {@code maxWaitNanos} away. Returns null for algorithms that do not queue; their callers retry
     * {@link #tryAcquire} after its {@code retryAfter} instead.
     */
    default Reservation reserve(Object state, long now, long permits, long maxWaitNanos) {
        return null;
    }

    /**
     * How long a key's state may go untouched before it equals {@link #newState}. The limiter
     * expires idle keys after this long, so dropping them never changes a decision.
     */
    long idleNanos();

    /**
     * How far behind the latest reading a decision's time may fall and still be decided exactly.
     * The limiter decides an earlier time as though it were this far back; so this must be a
     * step back after which every decision is what it would be at any earlier time (the state
     * reads as full of history as it can be), and leave as much again for readings that race.
     */
    default long maxBackNanos() {
        return Long.MAX_VALUE;
    }
}
