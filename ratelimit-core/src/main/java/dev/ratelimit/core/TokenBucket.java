package dev.ratelimit.core;

/**
 * {@link Algorithm#TOKEN_BUCKET}: a bucket of {@code capacity} tokens that starts full and refills
 * continuously at {@code permits/period}; a request takes its permits if they are all there.
 *
 * <p>The arithmetic lives in {@link Gcra}: the refill is exact rational arithmetic kept in
 * integers, so on the same times this bucket takes the same decisions, with the same remaining
 * count, as Bucket4j's greedy refill. {@code retryAfter} is the first nanosecond at which the
 * tokens are there, never one before.
 */
final class TokenBucket extends Gcra {

    TokenBucket(Policy policy) {
        super(policy.limits(), false);
    }
}
