package dev.ratelimit.core;

import java.time.Duration;

/**
 * The outcome of one request against a limiter, with the figures a client needs to behave.
 *
 * <p>Times are kept in nanoseconds so that deciding allocates nothing; {@link #retryAfter()} and
 * {@link #resetAfter()} give them as {@link Duration}s.
 *
 * @param allowed          whether the request was admitted (for {@code peek}: whether one permit
 *                         would be admitted now)
 * @param remaining        the permits left after this decision, the smallest across the limits
 * @param limit            the capacity of the limit that binds, the one with the fewest permits left
 * @param retryAfterNanos  zero when allowed; otherwise the exact time after which the same request
 *                         would be admitted, if nothing else arrived
 * @param resetAfterNanos  the time until every limit is full again
 */
public record Decision(boolean allowed, long remaining, long limit, long retryAfterNanos, long resetAfterNanos) {

    /**
     * Validates the figures.
     *
     * @throws IllegalArgumentException if a figure is negative, or an admitted decision asks to retry
     */
    public Decision {
        // One branch for every check, so that the constructor compiles small: it is inlined into
        // each decision, and a caller's compiled code past a size limit is not inlined into its
        // own callers, which would then allocate this record instead of scalar-replacing it. C2
        // keeps a branch, and a deoptimization stub, per comparison, so the checks are folded
        // into one sign bit: (limit - 1 | limit) is negative exactly when limit <= 0, and
        // (r | -r) exactly when r != 0.
        long invalid = remaining | retryAfterNanos | resetAfterNanos | (limit - 1 | limit)
                | (allowed ? retryAfterNanos | -retryAfterNanos : 0);
        if (invalid < 0) {
            throw invalid(allowed, remaining, limit, retryAfterNanos, resetAfterNanos);
        }
    }

    private static IllegalArgumentException invalid(boolean allowed, long remaining, long limit, long retryAfterNanos,
                                                    long resetAfterNanos) {
        if (remaining < 0) {
            return new IllegalArgumentException("remaining must not be negative: " + remaining);
        }
        if (limit <= 0) {
            return new IllegalArgumentException("limit must be positive: " + limit);
        }
        if (retryAfterNanos < 0 || (allowed && retryAfterNanos != 0)) {
            return new IllegalArgumentException("retryAfterNanos must be zero when allowed and not negative: " + retryAfterNanos);
        }
        return new IllegalArgumentException("resetAfterNanos must not be negative: " + resetAfterNanos);
    }

    /** Zero when allowed; otherwise the exact time after which the same request would be admitted. */
    public Duration retryAfter() {
        return Duration.ofNanos(retryAfterNanos);
    }

    /** The time until every limit is full again. */
    public Duration resetAfter() {
        return Duration.ofNanos(resetAfterNanos);
    }
}
