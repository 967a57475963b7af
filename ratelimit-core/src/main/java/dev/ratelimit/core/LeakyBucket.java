package dev.ratelimit.core;

import dev.ratelimit.core.AbstractRateLimiter.Reservation;

/**
 * {@link Algorithm#LEAKY_BUCKET}: a queue of up to {@code capacity} permits that drains at
 * {@code permits/period}, so admitted requests are spaced at least {@code period/permits} apart
 * (a request of {@code k} permits holds the next one back {@code k} times as long).
 *
 * <p>{@code tryAcquire} admits a request only when the queue is empty, so it never goes early.
 * {@code acquire} reserves the next slot when the queue has room and the wait fits within its
 * {@code maxWait}, then waits for that slot. This is the same {@link Gcra} arithmetic as the token
 * bucket; only the admission rule differs.
 */
final class LeakyBucket extends Gcra {

    LeakyBucket(Policy policy) {
        super(policy.limits(), true);
    }

    @Override
    public Reservation reserve(Object state, long now, long permits, long maxWaitNanos) {
        return reserveSlot(state, now, permits, maxWaitNanos);
    }
}
