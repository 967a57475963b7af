package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Drives our token bucket and Bucket4j's greedy refill with the same seeded random sequence of
 * (time, key, permits) and demands the same decision and the same remaining count every time.
 *
 * <p>Each seed draws 1 to 3 limits (capacities up to 100,000, periods from 1 ms to 1 hour, so that
 * Bucket4j itself stays in exact integer arithmetic), permits from 1 to the smallest capacity, and
 * time steps from 0 to hours. After a denial it sometimes jumps to one nanosecond before our
 * {@code retryAfter}, where both must still deny, and then to it, where both must admit: so our
 * wait is exact, never early and never late. A failure names its seed and step.
 */
class TokenBucketBucket4jDifferentialTest {

    private static final int STEPS = 2_000;
    private static final String[] KEYS = {"alice", "bob", "carol"};

    static LongStream seeds() {
        return LongStream.rangeClosed(1, 250);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void decidesExactlyLikeBucket4j(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Limit> limits = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            limits.add(randomLimit(random));
        }
        long smallestCapacity = limits.stream().mapToLong(Limit::capacity).min().orElseThrow();
        ManualTicker ticker = new ManualTicker(random.nextLong(-1L << 60, 1L << 60));
        RateLimiter ours = RateLimiter.builder().limits(limits).ticker(ticker).build();
        List<Bucket> theirs = new ArrayList<>();
        for (int k = 0; k < KEYS.length; k++) {
            theirs.add(bucket4j(limits, ticker));
        }

        for (int step = 0; step < STEPS; step++) {
            ticker.advanceNanos(randomStep(random, limits));
            int key = random.nextInt(KEYS.length);
            long permits = randomPermits(random, smallestCapacity);
            String where = "seed " + seed + ", step " + step + ", limits " + limits + ", permits " + permits;

            Decision decision = compare(ours, theirs.get(key), KEYS[key], permits, where);
            if (!decision.allowed() && random.nextInt(4) == 0) {
                ticker.advanceNanos(decision.retryAfterNanos() - 1);
                assertThat(compare(ours, theirs.get(key), KEYS[key], permits, where + ", 1 ns early").allowed())
                        .as("%s: admitted 1 ns before retryAfter", where).isFalse();
                ticker.advanceNanos(1);
                assertThat(compare(ours, theirs.get(key), KEYS[key], permits, where + ", at retryAfter").allowed())
                        .as("%s: still denied at retryAfter", where).isTrue();
            }
        }
    }

    /**
     * Extremes the random limits above do not reach: limits of 1 and 10,000,000 over windows of 1 s
     * and 1 h, on a ticker that starts just below {@code Long.MAX_VALUE} and so wraps to negative
     * readings part way, as {@link System#nanoTime()} may. Bucket4j compares readings absolutely,
     * so it gets the same time counted from the start; ours must use differences only. Bucket4j
     * refills in {@code double} once {@code permits * elapsed} overflows 63 bits (10,000,000 an
     * hour after 15 minutes without an admission), so every decision is also checked against
     * {@link GreedyRefill}, the same refill in exact rationals, and Bucket4j only where it is exact.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("extremeSeeds")
    void decidesLikeBucket4jAtExtremesAcrossTickerWrapAround(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] permitChoices = {1, 10_000_000};
        Duration[] periodChoices = {Duration.ofSeconds(1), Duration.ofHours(1)};
        List<Limit> limits = new ArrayList<>();
        int count = 1 + random.nextInt(2);
        for (int i = 0; i < count; i++) {
            long permits = permitChoices[random.nextInt(2)];
            long capacity = random.nextBoolean() ? permits : permitChoices[random.nextInt(2)];
            limits.add(Limit.of(permits, periodChoices[random.nextInt(2)]).withCapacity(capacity));
        }
        long smallestCapacity = limits.stream().mapToLong(Limit::capacity).min().orElseThrow();
        long origin = Long.MAX_VALUE - random.nextLong(Duration.ofHours(2).toNanos());
        ManualTicker ticker = new ManualTicker(origin);
        RateLimiter ours = RateLimiter.builder().limits(limits).ticker(ticker).build();
        Bucket theirs = bucket4j(limits, () -> ticker.read() - origin);
        // Bucket4j's refill stays in integers while permits * (elapsed % period) + period fits 63 bits.
        boolean theyAreExact = limits.stream().allMatch(limit -> limit.permits() <= Long.MAX_VALUE / limit.periodNanos() - 1);
        GreedyRefill exact = new GreedyRefill(limits, 0);

        for (int step = 0; step < STEPS; step++) {
            ticker.advanceNanos(randomStep(random, limits));
            long permits = randomPermits(random, smallestCapacity);
            String where = "seed " + seed + ", step " + step + ", origin " + origin + ", limits " + limits
                    + ", permits " + permits;
            Decision decision = compareAtExtremes(ours, theyAreExact ? theirs : null, exact, ticker.read() - origin,
                    permits, where);
            // Not past the longest idle window the cache keeps a key for (2^62 ns, 146 years): a
            // key that needs longer to refill (one an hour, capacity 10^7) is dropped by then; and
            // not so far in all that Bucket4j's reading, which must not wrap, nears 2^63.
            if (!decision.allowed() && decision.retryAfterNanos() < (1L << 62) - (ticker.read() - origin)
                    && random.nextInt(2) == 0) {
                ticker.advanceNanos(decision.retryAfterNanos() - 1);
                assertThat(compareAtExtremes(ours, theyAreExact ? theirs : null, exact, ticker.read() - origin,
                        permits, where + ", 1 ns early").allowed()).as("%s: admitted 1 ns before retryAfter", where).isFalse();
                ticker.advanceNanos(1);
                assertThat(compareAtExtremes(ours, theyAreExact ? theirs : null, exact, ticker.read() - origin,
                        permits, where + ", at retryAfter").allowed()).as("%s: still denied at retryAfter", where).isTrue();
            }
        }
    }

    static LongStream extremeSeeds() {
        return LongStream.rangeClosed(1, 100);
    }

    /** Compares with the exact refill always, and with Bucket4j when {@code theirs} is not null. */
    private static Decision compareAtExtremes(RateLimiter ours, Bucket theirs, GreedyRefill exact, long elapsed,
                                              long permits, String where) {
        boolean theirWaitIsExact = exact.limits.stream().allMatch(limit -> permits <= Long.MAX_VALUE / limit.periodNanos());
        Decision decision = theirs != null
                ? compare(ours, theirs, "k", permits, where, theirWaitIsExact)
                : ours.tryAcquire("k", permits);
        long remaining = exact.tryConsume(elapsed, permits);
        assertThat(decision.allowed()).as("%s: allowed, exactly", where).isEqualTo(remaining >= 0);
        assertThat(decision.remaining()).as("%s: remaining, exactly", where).isEqualTo(Math.abs(remaining) - 1);
        return decision;
    }

    /**
     * Greedy refill in exact rationals: each limit's tokens, times its period in nanoseconds, as a
     * {@link BigInteger}; {@code elapsed * permits} is added on each request, up to the capacity.
     */
    private static final class GreedyRefill {
        private final List<Limit> limits;
        private final BigInteger[] scaledTokens;
        private long last;

        GreedyRefill(List<Limit> limits, long start) {
            this.limits = limits;
            this.scaledTokens = limits.stream().map(limit -> full(limit)).toArray(BigInteger[]::new);
            this.last = start;
        }

        private static BigInteger full(Limit limit) {
            return BigInteger.valueOf(limit.capacity()).multiply(BigInteger.valueOf(limit.periodNanos()));
        }

        /** Remaining tokens + 1 if admitted, -(remaining + 1) if not: the sign is the decision. */
        long tryConsume(long now, long permits) {
            BigInteger elapsed = BigInteger.valueOf(now - last);
            last = now;
            boolean ok = true;
            for (int i = 0; i < limits.size(); i++) {
                Limit limit = limits.get(i);
                scaledTokens[i] = scaledTokens[i].add(elapsed.multiply(BigInteger.valueOf(limit.permits()))).min(full(limit));
                ok &= scaledTokens[i].compareTo(take(limit, permits)) >= 0;
            }
            long remaining = Long.MAX_VALUE;
            for (int i = 0; i < limits.size(); i++) {
                Limit limit = limits.get(i);
                if (ok) {
                    scaledTokens[i] = scaledTokens[i].subtract(take(limit, permits));
                }
                remaining = Math.min(remaining, scaledTokens[i].divide(BigInteger.valueOf(limit.periodNanos())).longValueExact());
            }
            return ok ? remaining + 1 : -(remaining + 1);
        }

        private static BigInteger take(Limit limit, long permits) {
            return BigInteger.valueOf(permits).multiply(BigInteger.valueOf(limit.periodNanos()));
        }
    }

    /**
     * A slow limit keeps the key cached for up to a year while the fast one idles far longer than
     * its scaled time can count in 64 bits (65,521 units a nanosecond wraps 2^63 in 39 hours).
     */
    @Test
    void aFastLimitIdleForDaysUnderASlowOneDecidesLikeBucket4j() {
        List<Limit> limits = List.of(Limit.of(1, Duration.ofDays(365)).withCapacity(3), Limit.of(65_521, Duration.ofHours(1)));
        ManualTicker ticker = new ManualTicker();
        RateLimiter ours = RateLimiter.builder().limits(limits).ticker(ticker).build();
        Bucket theirs = bucket4j(limits, ticker);
        compare(ours, theirs, "k", 1, "first");
        for (Duration idle : new Duration[] {Duration.ofHours(40), Duration.ofHours(100), Duration.ofDays(300)}) {
            ticker.advance(idle);
            compare(ours, theirs, "k", 1, "after " + idle);
        }
        compare(ours, theirs, "k", 1, "the slow limit is spent");
    }

    private static Decision compare(RateLimiter ours, Bucket theirs, String key, long permits, String where) {
        return compare(ours, theirs, key, permits, where, true);
    }

    /**
     * @param theirWaitIsExact false where Bucket4j's wait, {@code period * permits}, overflows 63
     *                         bits and it estimates in {@code double}: the callers' checks either
     *                         side of our {@code retryAfter} show that ours is exact
     */
    private static Decision compare(RateLimiter ours, Bucket theirs, String key, long permits, String where,
                                    boolean theirWaitIsExact) {
        Decision decision = ours.tryAcquire(key, permits);
        ConsumptionProbe probe = theirs.tryConsumeAndReturnRemaining(permits);
        assertThat(decision.allowed()).as("%s: allowed", where).isEqualTo(probe.isConsumed());
        assertThat(decision.remaining()).as("%s: remaining", where).isEqualTo(probe.getRemainingTokens());
        if (!decision.allowed() && theirWaitIsExact) {
            // Bucket4j's own estimate is sometimes a nanosecond short; ours is exact, never shorter.
            assertThat(decision.retryAfterNanos()).as("%s: retryAfter", where)
                    .isBetween(probe.getNanosToWaitForRefill(), probe.getNanosToWaitForRefill() + 1);
        }
        return decision;
    }

    private static Limit randomLimit(SplittableRandom random) {
        long capacity = 1 + random.nextLong(switch (random.nextInt(3)) {
            case 0 -> 10;
            case 1 -> 1_000;
            default -> 100_000;
        });
        long permits = 1 + random.nextLong(random.nextBoolean() ? capacity : 100_000);
        long periodNanos = switch (random.nextInt(4)) {
            case 0 -> Duration.ofMillis(1 + random.nextInt(1_000)).toNanos();
            case 1 -> random.nextLong(Duration.ofMillis(1).toNanos(), Duration.ofSeconds(60).toNanos());
            case 2 -> Duration.ofSeconds(1 + random.nextInt(3_600)).toNanos();
            default -> random.nextLong(Duration.ofMillis(1).toNanos(), Duration.ofHours(1).toNanos() + 1);
        };
        return Limit.of(permits, Duration.ofNanos(periodNanos)).withCapacity(capacity);
    }

    /** Mostly small steps so buckets run dry, sometimes long ones so they refill and keys expire. */
    private static long randomStep(SplittableRandom random, List<Limit> limits) {
        Limit limit = limits.get(random.nextInt(limits.size()));
        long perPermit = Math.max(1, limit.periodNanos() / limit.permits());
        return switch (random.nextInt(8)) {
            case 0, 1 -> 0;
            case 2 -> random.nextLong(1_000);
            case 3, 4 -> random.nextLong(perPermit + 1);
            case 5 -> random.nextLong(4 * perPermit + 1);
            case 6 -> random.nextLong(limit.periodNanos() + 1);
            default -> random.nextLong(Duration.ofHours(3).toNanos());
        };
    }

    private static long randomPermits(SplittableRandom random, long smallestCapacity) {
        return random.nextInt(3) == 0 ? 1 + random.nextLong(smallestCapacity) : 1 + random.nextLong(Math.min(smallestCapacity, 3));
    }

    private static Bucket bucket4j(List<Limit> limits, Ticker ticker) {
        var builder = Bucket.builder().withCustomTimePrecision(new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return ticker.read();
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        });
        for (Limit limit : limits) {
            builder.addLimit(Bandwidth.builder().capacity(limit.capacity())
                    .refillGreedy(limit.permits(), limit.period()).build());
        }
        return builder.build();
    }
}
