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

    /**
     * What a consuming decision returns instead of its {@link Decision} when it finds its state
     * {@link #retire retired}: permits taken from it would count nowhere, so the limiter decides
     * again on the key's current state. The mark is read after the write that took the permits, so
     * an eviction that came first is seen. A single limit's decision reads the mark whether it
     * admitted or not (branching on the outcome first made C2 duplicate the code after it);
     * several limits' decision reads it only after a take.
     *
     * <p>A constant compared by identity, returned before the decision builds its {@code Decision}:
     * the branch is never taken in steady state, so C2 compiles it to a trap and then proves the
     * limiter's comparison false for the fresh record. A test of the built Decision, and a
     * {@code try} block around the decision, each grew the compiled hot path past C2's
     * {@code InlineSmallCode} (2,500 bytes), beyond which it is not inlined into its caller; and a
     * Decision not inlined into the code that reads it is allocated on every request.
     */
    Decision RETIRED = new Decision(false, 0, 1, 0, 0);

    /** Returns the state of a key never seen before, or one idle so long that it is full again. */
    Object newState(long now);

    /**
     * Takes {@code permits} if every limit allows them at {@code now}; otherwise takes nothing.
     * Returns {@link #RETIRED} if it finds the state retired (see there).
     */
    Decision tryAcquire(Object state, long now, long permits);

    /** The figures for one permit at {@code now}, consuming nothing. */
    Decision peek(Object state, long now);

    /**
     * For algorithms that queue (the leaky bucket): reserves the earliest slot that is at most
     * {@code maxWaitNanos} away. Returns null for algorithms that do not queue; their callers retry
     * {@link #tryAcquire} after its {@code retryAfter} instead.
     * A reservation made on a retired state holds {@link #RETIRED} as its decision.
     */
    default Reservation reserve(Object state, long now, long permits, long maxWaitNanos) {
        return null;
    }

    /**
     * Marks a state the cache evicts, from inside the eviction: a decision that takes permits from
     * it afterwards returns {@link #RETIRED} instead of answering.
     */
    void retire(Object state);

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
