package dev.ratelimit.benchmarks;

import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.RateLimiter;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.caffeine.Bucket4jCaffeine;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import java.time.Duration;

/**
 * The limits every benchmark uses, built once here so that ours and each yardstick enforce the
 * same thing.
 *
 * <p>{@link Outcome#ADMITTED} is 10<sup>9</sup> permits a second (Bucket4j refuses faster refills)
 * with a burst of 10<sup>12</sup> (the largest {@link Limit} allows). It refills faster than any
 * thread here can take (a few times 10<sup>7</sup> calls a second), so it never empties: every
 * call is admitted and the benchmark measures the admitting path.
 * {@link Outcome#DENIED} is one permit an hour: the first call is admitted, every later one denied.
 * The sliding log is the exception; see {@link #limit}.
 */
final class Setups {

    /** The largest burst a {@link Limit} accepts. */
    static final long HUGE_BURST = Limit.MAX_CAPACITY;

    /** The fastest refill Bucket4j accepts: one token a nanosecond. */
    static final long HUGE_RATE = 1_000_000_000L;

    private Setups() {
    }

    /**
     * The limit for {@code algorithm} and {@code outcome}. The sliding log keeps one entry per
     * admitted call until it leaves the window, and refuses capacities above 10<sup>6</sup>, so its
     * admitting limit is 10<sup>6</sup> per millisecond: at a few tens of millions of calls a second
     * the log holds the last millisecond's calls (tens of thousands of entries), and each call
     * appends one entry and expires about one, which is the steady state of a busy log.
     */
    static Limit limit(Algorithm algorithm, Outcome outcome) {
        if (outcome == Outcome.DENIED) {
            return Limit.of(1, Duration.ofHours(1));
        }
        if (algorithm == Algorithm.SLIDING_WINDOW_LOG) {
            return Limit.of(1_000_000, Duration.ofMillis(1));
        }
        return Limit.of(HUGE_RATE, Duration.ofSeconds(1)).withCapacity(HUGE_BURST);
    }

    /** Our in-memory limiter with the system ticker and the default key bound. */
    static RateLimiter ours(Algorithm algorithm, Outcome outcome) {
        return ours(algorithm, limit(algorithm, outcome));
    }

    /** Our in-memory limiter with the system ticker and the default key bound. */
    static RateLimiter ours(Algorithm algorithm, Limit limit) {
        return RateLimiter.builder().algorithm(algorithm).limit(limit).build();
    }

    /** The token bucket's limit for {@code outcome}, which Bucket4j enforces too. */
    static Limit limit(Outcome outcome) {
        return limit(Algorithm.TOKEN_BUCKET, outcome);
    }

    /** Bucket4j's bandwidth equal to {@code limit} for the token bucket: greedy refill. */
    static Bandwidth bandwidth(Limit limit) {
        return Bandwidth.builder().capacity(limit.capacity()).refillGreedy(limit.permits(), limit.period()).build();
    }

    /** A bare local Bucket4j bucket: lock-free synchronisation and millisecond clock, the defaults. */
    static Bucket bucket4j(Limit limit) {
        return Bucket.builder().addLimit(bandwidth(limit)).build();
    }

    /** The configuration a Bucket4j proxy manager stores per key. */
    static BucketConfiguration bucket4jConfiguration(Limit limit) {
        return BucketConfiguration.builder().addLimit(bandwidth(limit)).build();
    }

    /**
     * Bucket4j's Caffeine proxy manager configured as its documentation suggests: bounded, and
     * each bucket expires once it would have refilled completely.
     */
    static ProxyManager<String> caffeineProxyManager(long maximumSize) {
        return Bucket4jCaffeine.<String>builderFor(Caffeine.newBuilder().maximumSize(maximumSize))
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ZERO))
                .build();
    }

    /**
     * Fails the run when a limiter does not decide as the benchmark claims, so that a benchmark
     * never measures denials by accident (or admissions, for the denied case).
     */
    static void expect(Outcome outcome, boolean allowed, String what) {
        if (allowed != (outcome == Outcome.ADMITTED)) {
            throw new IllegalStateException(what + " was " + (allowed ? "admitted" : "denied")
                    + " in a benchmark of the " + outcome + " path");
        }
    }
}
