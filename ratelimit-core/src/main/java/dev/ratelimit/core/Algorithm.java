package dev.ratelimit.core;

/**
 * How a limiter turns a history of requests into a decision.
 *
 * <p>Every algorithm enforces each {@link Limit} of a limiter; a request must be admitted by all.
 */
public enum Algorithm {

    /**
     * A bucket of {@code capacity} permits that refills continuously at {@code permits/period}.
     * It starts full, so it allows bursts up to its capacity. Exact integer arithmetic; decisions
     * match Bucket4j's greedy refill. O(1) memory per key. The default.
     */
    TOKEN_BUCKET,

    /**
     * At most {@code capacity} permits per window of length {@code period}; a key's window starts
     * with its first request after the previous window ended. Cheap, but up to twice the capacity
     * can pass around a window boundary: {@code capacity} at the end of one window and
     * {@code capacity} again at the start of the next. O(1) memory per key.
     */
    FIXED_WINDOW,

    /**
     * Exact: at most {@code capacity} permits in any interval of length {@code period}. Keeps the
     * timestamp of every admitted request still inside the window, so memory per key is
     * O(capacity); capacities above 1,000,000 are refused.
     */
    SLIDING_WINDOW_LOG,

    /**
     * The two-counter approximation of a sliding window: the previous fixed window's count,
     * weighted by how much of it the sliding window still overlaps, plus the current count.
     * O(1) memory per key; never admits more than {@code capacity} in the current fixed window.
     */
    SLIDING_WINDOW_COUNTER,

    /**
     * A shaper rather than a burst allowance: admitted requests are spaced at least
     * {@code period/permits} apart. {@link RateLimiter#tryAcquire} admits only a request that can
     * go now; {@link RateLimiter#acquire} may queue, with up to {@code capacity} permits waiting.
     */
    LEAKY_BUCKET
}
