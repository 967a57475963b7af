package dev.ratelimit.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Decides, per client key, whether a request may proceed.
 *
 * <p>Names follow one rule: {@code tryAcquire} never blocks, {@code acquire} waits. A request for
 * several permits is all-or-nothing across every limit: a denial consumes nothing. Implementations
 * are thread-safe, and requests for different keys never contend.
 *
 * <pre>{@code
 * RateLimiter limiter = RateLimiter.builder()
 *         .limit(Limit.of(5, Duration.ofSeconds(1)).withCapacity(10))
 *         .build();
 * if (limiter.tryAcquire("user-42").allowed()) { ... }
 * }</pre>
 */
public interface RateLimiter {

    /** Returns a builder for the in-memory limiter. */
    static Builder builder() {
        return new Builder();
    }

    /**
     * Takes one permit for {@code key} if every limit allows it now.
     *
     * @throws NullPointerException     if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is blank
     */
    default Decision tryAcquire(String key) {
        return tryAcquire(key, 1);
    }

    /**
     * Takes {@code permits} for {@code key} if every limit allows them now; otherwise takes nothing.
     *
     * @throws NullPointerException     if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is blank, {@code permits} is not positive or
     *                                  exceeds the smallest capacity
     */
    Decision tryAcquire(String key, long permits);

    /**
     * Returns the figures {@code tryAcquire(key)} would see, consuming nothing. {@code allowed} says
     * whether one permit would be admitted now.
     *
     * @throws NullPointerException     if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is blank
     */
    Decision peek(String key);

    /**
     * Takes {@code permits} for {@code key}, waiting up to {@code maxWait} for them. Returns a
     * denied decision at once, without waiting, when the wait would exceed {@code maxWait}.
     *
     * @throws InterruptedException     if the thread is interrupted while waiting; nothing is consumed
     *                                  unless the algorithm had already reserved a slot (leaky bucket)
     * @throws NullPointerException     if {@code key} or {@code maxWait} is null
     * @throws IllegalArgumentException if the key or permits are invalid, or {@code maxWait} is negative
     */
    Decision acquire(String key, long permits, Duration maxWait) throws InterruptedException;

    /** Forgets everything about {@code key}, so that its next request meets full limits. */
    void reset(String key);

    /** The algorithm and limits this limiter enforces. */
    Policy policy();

    /**
     * Builds the in-memory limiter. Not thread-safe; the limiter it builds is.
     */
    final class Builder {
        private Algorithm algorithm = Algorithm.TOKEN_BUCKET;
        private final List<Limit> limits = new ArrayList<>();
        private Ticker ticker = Ticker.system();
        private Sleeper sleeper = Sleeper.system();
        private long maxKeys = 1_000_000;

        Builder() {
        }

        /** Sets the algorithm; {@link Algorithm#TOKEN_BUCKET} by default. */
        public Builder algorithm(Algorithm algorithm) {
            this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
            return this;
        }

        /** Adds a limit; a request must satisfy every limit added. */
        public Builder limit(Limit limit) {
            limits.add(Objects.requireNonNull(limit, "limit"));
            return this;
        }

        /** Adds several limits. */
        public Builder limits(List<Limit> limits) {
            Objects.requireNonNull(limits, "limits").forEach(this::limit);
            return this;
        }

        /** Sets the time source; {@link Ticker#system()} by default. */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** Sets how {@link RateLimiter#acquire} waits; {@link Sleeper#system()} by default. */
        public Builder sleeper(Sleeper sleeper) {
            this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
            return this;
        }

        /**
         * Sets how many keys are tracked at most; 1,000,000 by default. Past it, the least useful
         * keys are dropped and start again with full limits, which bounds memory at the cost of
         * exactness for keys that were still refilling.
         */
        public Builder maxKeys(long maxKeys) {
            if (maxKeys <= 0) {
                throw new IllegalArgumentException("maxKeys must be positive: " + maxKeys);
            }
            this.maxKeys = maxKeys;
            return this;
        }

        /**
         * Builds the limiter.
         *
         * @throws IllegalArgumentException if no limit was added, or the limits do not suit the algorithm
         */
        public RateLimiter build() {
            return new MemoryRateLimiter(new Policy(algorithm, limits), ticker, sleeper, maxKeys);
        }
    }
}
