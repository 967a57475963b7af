package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.DenialTraceSequences;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Redis against the in-memory reference: the same seeded random sequence of (time, key, permits)
 * goes to both, and every decision must be the same, with waits rounded up to whole microseconds
 * (Redis's resolution). Times are whole microseconds so that both see the same instant. The deny
 * cache is on, as by default, so its local answers are checked too.
 */
class RedisMemoryDifferentialTest {

    private static RedisClient client;

    @BeforeAll
    static void connect() {
        client = TestRedis.client();
    }

    @AfterAll
    static void close() {
        client.shutdown();
    }

    static List<Object[]> cases() {
        List<Object[]> cases = new ArrayList<>();
        String only = System.getProperty("ratelimit.case"); // ALGORITHM:seed, to replay one failure
        if (only != null) {
            String[] parts = only.split(":");
            return List.<Object[]>of(new Object[] {Algorithm.valueOf(parts[0]), Long.parseLong(parts[1]),
                    parts.length > 2 && parts[2].equals("long")});
        }
        long seed = System.nanoTime();
        for (Algorithm algorithm : Algorithm.values()) {
            for (int i = 0; i < 8; i++) {
                cases.add(new Object[] {algorithm, seed + 31L * i + algorithm.ordinal(), false});
            }
        }
        // Logs of hundreds of entries: the script reads them in chunks and trims them in batches.
        for (int i = 0; i < 4; i++) {
            cases.add(new Object[] {Algorithm.SLIDING_WINDOW_LOG, seed + 977L * i, true});
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} seed {1} long logs {2}")
    @MethodSource("cases")
    void sameDecisionsAsMemory(Algorithm algorithm, long seed, boolean longLogs) {
        Random random = new Random(seed);
        Policy policy = longLogs ? longLogPolicy(random) : randomPolicy(algorithm, random);
        AtomicLong nanos = new AtomicLong(1_700_000_000_000_000_000L + 1000L * random.nextInt(1_000_000));
        RateLimiter memory = RateLimiter.builder().algorithm(algorithm).limits(policy.limits()).ticker(nanos::get).build();
        try (RedisRateLimiter redis = RedisRateLimiter.builder().client(client).policy(policy)
                .keyPrefix(TestRedis.prefix()).ticker(nanos::get).commandTimeout(Duration.ofSeconds(2)).build()) {
            long smallest = policy.limits().stream().mapToLong(Limit::capacity).min().orElseThrow();
            long longest = policy.limits().stream().mapToLong(Limit::periodNanos).max().orElseThrow() / 1000;
            String[] keys = {"alice", "bob{x}", "%7B"};
            for (int step = 0; step < (longLogs ? 3000 : 300); step++) {
                String key = keys[random.nextInt(keys.length)];
                String what;
                Decision expected;
                Decision actual;
                int kind = random.nextInt(10);
                if (kind == 0) {
                    what = "peek(" + key + ")";
                    expected = memory.peek(key);
                    actual = redis.peek(key);
                } else if (kind == 1 && random.nextInt(10) == 0) {
                    what = "reset(" + key + ")";
                    memory.reset(key);
                    redis.reset(key);
                    expected = memory.peek(key);
                    actual = redis.peek(key);
                } else {
                    long permits = random.nextInt(3) == 0 ? 1 + random.nextInt((int) smallest) : 1;
                    what = "tryAcquire(" + key + ", " + permits + ")";
                    expected = memory.tryAcquire(key, permits);
                    actual = redis.tryAcquire(key, permits);
                }
                if (Boolean.getBoolean("ratelimit.trace")) {
                    System.out.println(step + " t=" + nanos.get() / 1000 + " " + what + " -> " + actual);
                }
                assertThat(actual).as("seed %d%s, step %d, t=%d µs, %s, policy %s", seed, longLogs ? " (long logs)" : "", step, nanos.get() / 1000, what, policy)
                        .isEqualTo(roundedToMicros(expected));
                nanos.addAndGet(1000 * advance(random, longLogs ? longest / 64 : longest));
            }
            assertThat(redis.failedCalls()).isZero();
        }
    }

    /**
     * Several sliding-counter limits of very different periods, time in whole seconds, many
     * denials by the slow limits while a fast one's window rolls: the sequences of core's
     * {@code AlgorithmPropertiesTest.aDenialLeavesNoTrace} on which a denial once re-anchored the
     * fast window (in core and in the script alike), so later figures differed from a key's that
     * never saw the denial.
     */
    @ParameterizedTest(name = "seed {0}")
    @org.junit.jupiter.params.provider.ValueSource(longs = {39, 40, 53, 56})
    void aDenialUnderSeveralCounterLimitsLeavesNoTraceAsInMemory(long seed) {
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        List<Limit> limits = DenialTraceSequences.limits(random);
        long smallest = limits.stream().mapToLong(Limit::capacity).min().orElseThrow();
        random.nextLong(); // core's test starts its ticker here; Redis needs a present-day epoch
        AtomicLong nanos = new AtomicLong(1_700_000_000_000_000_000L);
        RateLimiter memory = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_COUNTER).limits(limits)
                .ticker(nanos::get).build();
        try (RedisRateLimiter redis = RedisRateLimiter.builder().client(client).algorithm(Algorithm.SLIDING_WINDOW_COUNTER)
                .limits(limits).keyPrefix(TestRedis.prefix()).ticker(nanos::get).localDenyCache(false)
                .commandTimeout(Duration.ofSeconds(2)).build()) {
            for (int step = 0; step < 1_000; step++) {
                nanos.addAndGet(DenialTraceSequences.step(random).toNanos());
                long permits = 1 + random.nextLong(smallest);
                String where = "seed " + seed + ", step " + step + ", limits " + limits;
                assertThat(redis.tryAcquire("k", permits)).as(where + ": tryAcquire " + permits)
                        .isEqualTo(roundedToMicros(memory.tryAcquire("k", permits)));
                assertThat(redis.peek("k")).as(where + ": peek").isEqualTo(roundedToMicros(memory.peek("k")));
            }
            assertThat(redis.failedCalls()).isZero();
        }
    }

    /**
     * An admission behind the log's newest entry (Redis TIME stepping back after a failover; the
     * ticker here) once went to the list's end out of time order, so a denial reported retryAfter
     * 0 and acquire() spun past its maxWait, in the script as in core.
     */
    @ParameterizedTest(name = "{0} limit(s)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void aSlidingLogAdmissionBehindItsNewestEntryKeepsTheLogInOrderAsInMemory(int count) throws InterruptedException {
        List<Limit> limits = count == 1 ? List.of(Limit.of(2, Duration.ofSeconds(100)))
                : List.of(Limit.of(2, Duration.ofSeconds(100)), Limit.of(100, Duration.ofSeconds(200)));
        AtomicLong nanos = new AtomicLong(1_700_000_000_000_000_000L);
        RateLimiter memory = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_LOG).limits(limits)
                .ticker(nanos::get).build();
        try (RedisRateLimiter redis = RedisRateLimiter.builder().client(client).algorithm(Algorithm.SLIDING_WINDOW_LOG)
                .limits(limits).keyPrefix(TestRedis.prefix()).ticker(nanos::get).localDenyCache(false)
                .sleeper(n -> {
                    throw new IllegalStateException("acquire slept " + n + " ns for a wait longer than its maxWait");
                }).commandTimeout(Duration.ofSeconds(2)).build()) {
            for (long step : new long[] {0, -50, 105}) {
                nanos.addAndGet(Duration.ofSeconds(step).toNanos());
                if (step != 105) {
                    assertThat(redis.tryAcquire("k")).isEqualTo(roundedToMicros(memory.tryAcquire("k")));
                }
            }
            Decision denied = redis.tryAcquire("k", 2);
            assertThat(denied).isEqualTo(roundedToMicros(memory.tryAcquire("k", 2)));
            assertThat(denied.retryAfter()).as("both entries count from T, which leaves 45 s from now")
                    .isEqualTo(Duration.ofSeconds(45));
            assertThat(redis.acquire("k", 2, Duration.ofSeconds(10)).allowed()).isFalse();
        }
    }

    /**
     * An admission behind the newest entry, under a limit whose window had emptied: it counts the
     * merged permits in that limit too, so the limit's window must start at the newest entry. It
     * once kept pointing past the log's end, and every later call on the key failed in the script
     * ("has no entry"), which in failure mode OPEN admitted everything. Only the counts are
     * compared: core decides a reading behind the time its log last dropped entries at as of that
     * time (the peek's, here), where the script decides at the reading itself and merges, so their
     * reset figures differ by the step back.
     */
    @Test
    void aSlidingLogAdmissionBehindItsNewestEntryCountsInALimitWhoseWindowHadEmptied() {
        List<Limit> limits = List.of(Limit.of(5, Duration.ofSeconds(1)), Limit.of(3, Duration.ofHours(1)));
        AtomicLong nanos = new AtomicLong(1_700_000_000_000_000_000L);
        RateLimiter memory = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_LOG).limits(limits)
                .ticker(nanos::get).build();
        try (RedisRateLimiter redis = RedisRateLimiter.builder().client(client).algorithm(Algorithm.SLIDING_WINDOW_LOG)
                .limits(limits).keyPrefix(TestRedis.prefix()).ticker(nanos::get).localDenyCache(false)
                .commandTimeout(Duration.ofSeconds(2)).build()) {
            assertThat(redis.tryAcquire("k")).isEqualTo(roundedToMicros(memory.tryAcquire("k")));
            nanos.addAndGet(Duration.ofSeconds(2).toNanos());
            // the second's window empties, and the peek writes that down
            assertThat(redis.peek("k")).isEqualTo(roundedToMicros(memory.peek("k")));
            nanos.addAndGet(-Duration.ofSeconds(2).toNanos());
            List<String> expected = new ArrayList<>();
            List<String> actual = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                Decision m = memory.tryAcquire("k");
                Decision r = redis.tryAcquire("k");
                expected.add(m.allowed() + "/" + m.remaining());
                actual.add(r.allowed() + "/" + r.remaining());
                nanos.addAndGet(1_000);
            }
            assertThat(actual).as("last failure %s", redis.lastFailure()).isEqualTo(expected)
                    .as("3 an hour: two more, then denials").containsExactly("true/1", "true/0", "false/0", "false/0", "false/0");
            assertThat(redis.failedCalls()).isZero();
        }
    }

    /**
     * The leaky bucket's acquire: reservations behind a queue, with maxWait from zero to beyond the
     * queue, some of several permits, one to three limits. Each limit's slot is a whole number of
     * microseconds (period/permits), so core's slots start on whole µs as Redis's do and the two
     * must agree exactly: the same decisions, figures and waits, and the same state after.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void leakyBucketReservationsAsInMemory(long seed) throws InterruptedException {
        Random random = new Random(seed);
        List<Limit> limits = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        while (limits.size() < count) {
            long permits = 1 + random.nextInt(5);
            // a period of 1 ms at least, as core requires (seed 13 drew 376 µs): the same draws, raised
            long slotMicros = Math.max(1 + random.nextInt(200_000), -Math.floorDiv(-1000, permits));
            limits.add(new Limit(permits, Duration.ofNanos(1000 * slotMicros * permits), 1 + random.nextInt(8)));
        }
        long smallest = limits.stream().mapToLong(Limit::capacity).min().orElseThrow();
        long longest = limits.stream().mapToLong(l -> l.periodNanos() / l.permits() * l.capacity()).max().orElseThrow() / 1000;
        AtomicLong nanos = new AtomicLong(1_700_000_000_000_000_000L + 1000L * random.nextInt(1_000_000));
        AtomicLong memorySlept = new AtomicLong();
        AtomicLong redisSlept = new AtomicLong();
        RateLimiter memory = RateLimiter.builder().algorithm(Algorithm.LEAKY_BUCKET).limits(limits).ticker(nanos::get)
                .sleeper(memorySlept::addAndGet).build();
        try (RedisRateLimiter redis = RedisRateLimiter.builder().client(client).algorithm(Algorithm.LEAKY_BUCKET)
                .limits(limits).keyPrefix(TestRedis.prefix()).ticker(nanos::get).sleeper(redisSlept::addAndGet)
                .commandTimeout(Duration.ofSeconds(2)).build()) {
            for (int step = 0; step < 300; step++) {
                long permits = random.nextInt(3) == 0 ? 1 + random.nextInt((int) smallest) : 1;
                long queued = memory.peek("k").retryAfterNanos(); // the wait a reservation now would have
                Duration maxWait = switch (random.nextInt(6)) {
                    case 0 -> Duration.ZERO;
                    case 1 -> Duration.ofDays(3650);
                    case 2 -> Duration.ofNanos(queued); // exactly enough
                    // a microsecond short: Redis rounds maxWait up to whole µs, so 1 ns short is admitted there
                    case 3 -> Duration.ofNanos(Math.max(0, queued - 1000));
                    default -> Duration.ofNanos(1000L * (long) (random.nextDouble() * 2 * longest));
                };
                String where = String.format("seed %d, step %d, t=%d µs, acquire(k, %d, %s), limits %s", seed, step,
                        nanos.get() / 1000, permits, maxWait, limits);
                memorySlept.set(0);
                redisSlept.set(0);
                Decision expected = memory.acquire("k", permits, maxWait);
                Decision actual = redis.acquire("k", permits, maxWait);
                assertThat(actual).as(where).isEqualTo(roundedToMicros(expected));
                assertThat(redisSlept.get()).as(where + ": wait").isEqualTo(memorySlept.get());
                assertThat(redis.peek("k")).as(where + ": peek after").isEqualTo(roundedToMicros(memory.peek("k")));
                nanos.addAndGet(1000 * advance(random, longest));
            }
            assertThat(redis.failedCalls()).isZero();
        }
    }

    static List<Long> seeds() {
        String only = System.getProperty("ratelimit.seed");
        if (only != null) {
            return List.of(Long.parseLong(only));
        }
        long seed = System.nanoTime();
        return List.of(seed, seed + 1, seed + 2, seed + 3, seed + 4, seed + 5);
    }

    /** Mostly small steps (several requests per period), sometimes none, sometimes past a period. */
    private static long advance(Random random, long longestMicros) {
        return switch (random.nextInt(8)) {
            case 0 -> 0;
            case 1 -> 1 + random.nextInt(3);
            case 2 -> 1 + (long) (random.nextDouble() * 3 * longestMicros);
            default -> 1 + (long) (random.nextDouble() * longestMicros / 8);
        };
    }

    /**
     * Periods in whole microseconds, often not whole milliseconds, up to 1 s; capacities up to 15,
     * so keys often go idle long enough to expire in both stores (Redis by its own TTL, core after
     * its idle window plus Caffeine's tolerance), which must not change any decision.
     */
    private static Policy randomPolicy(Algorithm algorithm, Random random) {
        List<Limit> limits = new ArrayList<>();
        // Half single limits, which the token and leaky buckets and the fixed window run as flat scripts.
        int count = random.nextBoolean() ? 1 : 2 + random.nextInt(2);
        while (limits.size() < count) {
            long permits = 1 + random.nextInt(12);
            long periodMicros = 1000 + random.nextInt(1_000_000 - 999);
            long capacity = random.nextBoolean() ? permits : 1 + random.nextInt(15);
            limits.add(new Limit(permits, Duration.ofNanos(1000 * periodMicros), capacity));
        }
        return new Policy(algorithm, limits);
    }

    /** A log of up to 400 entries and a shorter limit within it, so windows start far apart. */
    private static Policy longLogPolicy(Random random) {
        return new Policy(Algorithm.SLIDING_WINDOW_LOG, List.of(
                new Limit(400, Duration.ofNanos(1000L * (200_000 + random.nextInt(800_000))), 400),
                new Limit(40 + random.nextInt(60), Duration.ofNanos(1000L * (20_000 + random.nextInt(100_000))),
                        40 + random.nextInt(60))));
    }

    static Decision roundedToMicros(Decision d) {
        return new Decision(d.allowed(), d.remaining(), d.limit(), ceilMicros(d.retryAfterNanos()),
                ceilMicros(d.resetAfterNanos()));
    }

    private static long ceilMicros(long nanos) {
        return -Math.floorDiv(-nanos, 1000) * 1000;
    }
}
