package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Checks algorithms against their definitions on seeded random traffic. A failure names its seed.
 */
class AlgorithmPropertiesTest {

    static LongStream seeds() {
        return LongStream.rangeClosed(1, 60);
    }

    private record Admitted(long time, long permits) {
    }

    /**
     * The sliding log admits a request exactly when the permits admitted in the last period, plus
     * this one, fit the capacity; its retryAfter is the first instant at which they would, and its
     * resetAfter the instant the newest admission leaves the window.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void slidingLogAdmitsExactlyWhatTheWindowAllows(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long capacity = 1 + random.nextLong(50);
        long period = Duration.ofMillis(1 + random.nextLong(5_000)).toNanos() + random.nextLong(1_000);
        checkSlidingLog(random, seed, capacity, period, random.nextLong());
    }

    /**
     * The same at the extremes: capacities of 1 and of the largest the log takes, windows of 1 s
     * and 1 h, on a ticker that starts just below {@code Long.MAX_VALUE} and so wraps part way, as
     * {@link System#nanoTime()} may: only differences of readings may decide.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void slidingLogAdmitsExactlyWhatTheWindowAllowsAtExtremes(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long capacity = random.nextBoolean() ? 1 : Policy.MAX_LOG_CAPACITY;
        long period = (random.nextBoolean() ? Duration.ofSeconds(1) : Duration.ofHours(1)).toNanos();
        // Within 500 of the longest steps below the wrap, with 3,000 steps to go, of which two in three are a
        // third of the longest on average.
        long origin = Long.MAX_VALUE - random.nextLong(500 * longestStep(capacity, period));
        assertThat(checkSlidingLog(random, seed, capacity, period, origin)).as("seed %d: the ticker wrapped", seed).isTrue();
    }

    /** Steps of up to two permits' share of the period, so that the log stays busy and entries leave it. */
    private static long longestStep(long capacity, long period) {
        return period / Math.max(1, capacity / 2) + 1;
    }

    /** Returns whether the ticker wrapped past {@code Long.MAX_VALUE} meanwhile. */
    private static boolean checkSlidingLog(SplittableRandom random, long seed, long capacity, long period, long origin) {
        ManualTicker ticker = new ManualTicker(origin);
        boolean wrapped = false;
        RateLimiter limiter = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_LOG)
                .limit(Limit.of(capacity, Duration.ofNanos(period))).ticker(ticker).build();
        List<Admitted> admitted = new ArrayList<>();

        for (int step = 0; step < 3_000; step++) {
            ticker.advanceNanos(random.nextInt(3) == 0 ? 0 : random.nextLong(longestStep(capacity, period)));
            long now = ticker.read();
            wrapped |= now < origin;
            long permits = random.nextInt(4) == 0 ? 1 + random.nextLong(capacity) : 1 + random.nextLong(Math.min(capacity, 4));
            long used = usedAt(admitted, now, period);
            Decision decision = limiter.tryAcquire("k", permits);
            String where = "seed " + seed + ", step " + step + ", capacity " + capacity + ", period " + period
                    + ", origin " + origin;

            assertThat(decision.allowed()).as(where).isEqualTo(used + permits <= capacity);
            if (decision.allowed()) {
                admitted.add(new Admitted(now, permits));
                assertThat(decision.remaining()).as(where).isEqualTo(capacity - used - permits);
            } else {
                long at = now + decision.retryAfterNanos();
                assertThat(usedAt(admitted, at, period) + permits).as(where + ": fits at retryAfter").isLessThanOrEqualTo(capacity);
                assertThat(usedAt(admitted, at - 1, period) + permits).as(where + ": not 1 ns before").isGreaterThan(capacity);
            }
            // The last admitted, not the largest reading: past the wrap, the newest readings are negative.
            long newest = admitted.isEmpty() || now - admitted.get(admitted.size() - 1).time() >= period
                    ? now - period : admitted.get(admitted.size() - 1).time();
            assertThat(decision.resetAfterNanos()).as(where + ": full again when the newest admission leaves").isEqualTo(newest + period - now);
        }
        return wrapped;
    }

    private static long usedAt(List<Admitted> admitted, long now, long period) {
        return admitted.stream().filter(a -> now - a.time() >= 0 && now - a.time() < period).mapToLong(Admitted::permits).sum();
    }

    /**
     * The fixed window at the extremes, against its definition: a window of {@code period} opens
     * with the first request admitted after the last one ended, and admits while its count plus
     * the request fits the capacity; a denial waits for its end. Capacities of 1 and 10,000,000,
     * windows of 1 s and 1 h, on a ticker that wraps past {@code Long.MAX_VALUE} part way.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void fixedWindowAdmitsExactlyWhatItsWindowAllowsAtExtremes(long seed) {
        Extremes traffic = new Extremes(seed);
        RateLimiter limiter = traffic.limiter(Algorithm.FIXED_WINDOW);
        long end = 0;
        long count = 0; // in the window ending at end; zero when no window is open

        for (int step = 0; step < 3_000; step++) {
            long now = traffic.step();
            long permits = traffic.permits();
            if (count > 0 && now - end >= 0) {
                count = 0;
            }
            boolean fits = count + permits <= traffic.capacity;
            if (fits) {
                end = count == 0 ? now + traffic.period : end;
                count += permits;
            }
            Decision decision = limiter.tryAcquire("k", permits);
            String where = traffic.where(step, permits);

            assertThat(decision).as(where).isEqualTo(new Decision(fits, traffic.capacity - count, traffic.capacity,
                    fits ? 0 : end - now, count > 0 ? end - now : 0));
        }
        traffic.assertWrapped();
    }

    /**
     * The sliding counter at the extremes, against its definition: fixed windows anchored at the
     * key's first request (and again whenever both counts have rolled out), and a request of
     * {@code k} admitted when {@code previous * (period - e) / period + current + k <= capacity},
     * compared exactly. Its retryAfter must be the first instant at which the model admits the
     * request. Capacities of 1 and 10,000,000 (where {@code previous * period} needs 86 bits),
     * windows of 1 s and 1 h, on a ticker that wraps past {@code Long.MAX_VALUE} part way.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void slidingCounterAdmitsExactlyWhatItsEstimateAllowsAtExtremes(long seed) {
        Extremes traffic = new Extremes(seed);
        RateLimiter limiter = traffic.limiter(Algorithm.SLIDING_WINDOW_COUNTER);
        CounterModel model = null; // until the key's first request, whose reading anchors its windows

        for (int step = 0; step < 3_000; step++) {
            long now = traffic.step();
            long permits = traffic.permits();
            model = model == null ? new CounterModel(now, 0, 0, traffic.capacity, traffic.period) : model.at(now);
            boolean fits = model.admits(now, permits);
            Decision decision = limiter.tryAcquire("k", permits);
            String where = traffic.where(step, permits) + ", " + model + ", now " + now + ", " + decision;

            assertThat(decision.allowed()).as(where).isEqualTo(fits);
            if (fits) {
                model = new CounterModel(model.start, model.previous, model.current + permits, traffic.capacity, traffic.period);
            } else {
                long at = now + decision.retryAfterNanos();
                assertThat(model.at(at).admits(at, permits)).as(where + ": admits at retryAfter").isTrue();
                assertThat(model.at(at - 1).admits(at - 1, permits)).as(where + ": not 1 ns before").isFalse();
            }
            assertThat(decision.remaining()).as(where + ": remaining").isEqualTo(model.available(now));
        }
        traffic.assertWrapped();
    }

    /**
     * Seeded traffic on one key at the extremes: a capacity of 1 or 10,000,000, a window of 1 s or
     * 1 h, steps of up to a twentieth of it, and a ticker that starts within 500 such steps of
     * {@code Long.MAX_VALUE}, so that it wraps part way (3,000 steps, two in three of a fortieth of
     * the window on average). A quarter of the requests ask for up to the whole capacity.
     */
    private static final class Extremes {
        final long seed;
        final SplittableRandom random;
        final long capacity;
        final long period;
        final long longestStep;
        final long origin;
        final ManualTicker ticker;
        boolean wrapped;

        Extremes(long seed) {
            this.seed = seed;
            random = new SplittableRandom(seed);
            capacity = random.nextBoolean() ? 1 : 10_000_000;
            period = (random.nextBoolean() ? Duration.ofSeconds(1) : Duration.ofHours(1)).toNanos();
            longestStep = period / 20;
            origin = Long.MAX_VALUE - random.nextLong(500 * longestStep);
            ticker = new ManualTicker(origin);
        }

        RateLimiter limiter(Algorithm algorithm) {
            return RateLimiter.builder().algorithm(algorithm).limit(Limit.of(capacity, Duration.ofNanos(period)))
                    .ticker(ticker).build();
        }

        /** Moves the ticker on by a random step; returns the new reading. */
        long step() {
            ticker.advanceNanos(random.nextInt(3) == 0 ? 0 : random.nextLong(longestStep));
            long now = ticker.read();
            wrapped |= now < origin;
            return now;
        }

        long permits() {
            return random.nextInt(4) == 0 ? 1 + random.nextLong(capacity) : 1 + random.nextLong(Math.min(capacity, 4));
        }

        String where(int step, long permits) {
            return "seed " + seed + ", step " + step + ", capacity " + capacity + ", period " + period
                    + ", origin " + origin + ", permits " + permits;
        }

        void assertWrapped() {
            assertThat(wrapped).as("seed %d: the ticker wrapped", seed).isTrue();
        }
    }

    /** The sliding counter's state, as its definition has it; {@code start} is a reading, compared by difference. */
    private record CounterModel(long start, long previous, long current, long capacity, long period) {

        /** The state at {@code now} (not before the start): rolled on by whole periods. */
        CounterModel at(long now) {
            long windows = (now - start) / period;
            if (windows == 0) {
                return this;
            }
            long carried = windows == 1 ? current : 0;
            // Both counts rolled out: nothing remembers the grid, which starts again at now.
            if (carried == 0) {
                return new CounterModel(now, 0, 0, capacity, period);
            }
            return new CounterModel(start + windows * period, carried, 0, capacity, period);
        }

        boolean admits(long now, long permits) {
            BigInteger weighted = BigInteger.valueOf(previous).multiply(BigInteger.valueOf(period - (now - start)));
            BigInteger budget = BigInteger.valueOf(capacity - current - permits).multiply(BigInteger.valueOf(period));
            return capacity - current - permits >= 0 && weighted.compareTo(budget) <= 0;
        }

        long available(long now) {
            BigInteger[] qr = BigInteger.valueOf(previous).multiply(BigInteger.valueOf(period - (now - start)))
                    .divideAndRemainder(BigInteger.valueOf(period));
            long weighted = qr[0].longValueExact() + (qr[1].signum() > 0 ? 1 : 0);
            return Math.max(capacity - current - weighted, 0);
        }
    }

    /**
     * The leaky bucket at the extremes: {@code tryAcquire} admits a request of {@code k} only once
     * the last admission of {@code k'} has drained, {@code (t - t') * n >= k' * period}; a denial's
     * retryAfter is the first nanosecond at which it has, and remaining what the queue leaves.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void leakyBucketSpacesAdmissionsAtExtremes(long seed) {
        Extremes traffic = new Extremes(seed);
        RateLimiter limiter = traffic.limiter(Algorithm.LEAKY_BUCKET);
        Admitted last = null;
        int admissions = 0;

        for (int step = 0; step < 3_000; step++) {
            long now = traffic.step();
            long permits = traffic.permits();
            Decision decision = limiter.tryAcquire("k", permits);
            String where = traffic.where(step, permits) + ", last " + last + ", " + decision;

            assertThat(decision.allowed()).as(where).isEqualTo(queued(last, now, traffic).signum() == 0);
            if (decision.allowed()) {
                last = new Admitted(now, permits);
                admissions++;
            } else {
                long at = now + decision.retryAfterNanos();
                assertThat(queued(last, at, traffic).signum()).as(where + ": drained at retryAfter").isZero();
                assertThat(queued(last, at - 1, traffic).signum()).as(where + ": not 1 ns before").isPositive();
            }
            BigInteger[] left = queued(last, now, traffic).divideAndRemainder(BigInteger.valueOf(traffic.period));
            long leftPermits = left[0].longValueExact() + left[1].signum();
            assertThat(decision.remaining()).as(where + ": remaining").isEqualTo(traffic.capacity - leftPermits);
        }
        // Some 50 windows pass; a limit of one a window admits about one in each.
        assertThat(admissions).as("the traffic kept the shaper busy").isGreaterThan(20);
        traffic.assertWrapped();
    }

    /**
     * What the last admission of {@code k'} at {@code t'} still queues at {@code now}, in permits
     * times the period: {@code k' * period - (now - t') * n}, at least zero, where the extremes'
     * limits are {@code n = capacity} per period.
     */
    private static BigInteger queued(Admitted last, long now, Extremes traffic) {
        if (last == null) {
            return BigInteger.ZERO;
        }
        BigInteger held = BigInteger.valueOf(last.permits()).multiply(BigInteger.valueOf(traffic.period));
        BigInteger drained = BigInteger.valueOf(now - last.time()).multiply(BigInteger.valueOf(traffic.capacity));
        return held.subtract(drained).max(BigInteger.ZERO);
    }

    /** Requests the leaky bucket admits are spaced at least {@code period/n} per permit apart. */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void leakyBucketSpacesAdmissions(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long n = 1 + random.nextLong(100);
        long period = Duration.ofMillis(1 + random.nextLong(2_000)).toNanos() + random.nextLong(1_000);
        ManualTicker ticker = new ManualTicker(random.nextLong());
        RateLimiter limiter = RateLimiter.builder().algorithm(Algorithm.LEAKY_BUCKET)
                .limit(Limit.of(n, Duration.ofNanos(period)).withCapacity(10)).ticker(ticker).build();
        Admitted last = null;
        int admissions = 0;
        for (int step = 0; step < 3_000; step++) {
            ticker.advanceNanos(random.nextLong(2 * period / n + 1));
            long permits = 1 + random.nextLong(3);
            Decision decision = limiter.tryAcquire("k", permits);
            if (last != null) {
                // (t - t_last) * n >= k_last * period, in 128 bits
                boolean spaced = BigInteger.valueOf(ticker.read() - last.time()).multiply(BigInteger.valueOf(n))
                        .compareTo(BigInteger.valueOf(last.permits()).multiply(BigInteger.valueOf(period))) >= 0;
                assertThat(decision.allowed()).as("seed %d, step %d", seed, step).isEqualTo(spaced);
            }
            if (decision.allowed()) {
                last = new Admitted(ticker.read(), permits);
                admissions++;
            }
        }
        assertThat(admissions).as("the traffic kept the shaper busy").isGreaterThan(100);
    }

    static Stream<Arguments> algorithmsAndSeeds() {
        return Stream.of(Algorithm.values()).flatMap(algorithm -> seeds().mapToObj(seed -> Arguments.of(algorithm, seed)));
    }

    /**
     * A denial consumes nothing and leaves no trace: {@code main} sees every request and
     * {@code shadow} only those main admitted, so any state a denial left behind would show as a
     * difference between them. Time only moves forward here, in steps that often roll a window
     * over; several limits of very different periods make the slow one deny while the fast one's
     * window rolls (the sliding counter once re-anchored that window at the denied request's time).
     */
    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("algorithmsAndSeeds")
    void aDenialLeavesNoTrace(Algorithm algorithm, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Limit> limits = DenialTraceSequences.limits(random);
        long smallest = limits.stream().mapToLong(Limit::capacity).min().orElseThrow();
        ManualTicker ticker = new ManualTicker(random.nextLong());
        RateLimiter main = RateLimiter.builder().algorithm(algorithm).limits(limits).ticker(ticker).build();
        RateLimiter shadow = RateLimiter.builder().algorithm(algorithm).limits(limits).ticker(ticker).build();

        for (int step = 0; step < 1_000; step++) {
            ticker.advance(DenialTraceSequences.step(random));
            long permits = 1 + random.nextLong(smallest);
            String where = algorithm + " seed " + seed + ", step " + step + ", limits " + limits;
            Decision decision = main.tryAcquire("k", permits);
            if (decision.allowed()) {
                assertThat(shadow.tryAcquire("k", permits)).as(where + ": tryAcquire " + permits).isEqualTo(decision);
            }
            assertThat(main.peek("k")).as(where + ": peek after " + decision).isEqualTo(shadow.peek("k"));
        }
    }
}
