package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Timetables against the shared Redis with a manual ticker: set the clock, acquire, assert. */
class RedisRateLimiterTest {

    private static final long T0 = 1_700_000_000_000_000_000L;
    /** Generous: a timeout here would turn into a fallback decision and a confusing failure. */
    private static final Duration SLOW_MACHINE = Duration.ofSeconds(2);

    private static RedisClient client;
    private static StatefulRedisConnection<String, String> admin;

    @BeforeAll
    static void connect() {
        client = TestRedis.client();
        admin = client.connect();
    }

    @AfterAll
    static void close() {
        admin.close();
        client.shutdown();
    }

    @Test
    void denyCacheAnswersAFloodOfDenialsLocallyWithRedisFigures() {
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(TestRedis.prefix())
                .ticker(now::get).limit(Limit.of(2, Duration.ofSeconds(1))).build()) {
            limiter.tryAcquire("flood");
            limiter.tryAcquire("flood");
            Decision first = limiter.tryAcquire("flood");
            assertThat(first).isEqualTo(new Decision(false, 0, 2, 500_000_000, 1_000_000_000));
            now.addAndGet(100_000_000);
            for (int i = 0; i < 1000; i++) {
                assertThat(limiter.tryAcquire("flood")).isEqualTo(new Decision(false, 0, 2, 400_000_000, 900_000_000));
            }
            assertThat(limiter.savedCalls()).isEqualTo(1000);
            now.addAndGet(400_000_000); // the retry time: Redis is asked again and admits
            assertThat(limiter.tryAcquire("flood").allowed()).isTrue();
            assertThat(limiter.savedCalls()).isEqualTo(1000);
        }
    }

    @Test
    void keysCarryThePrefixAHashTagAndExpireWhenFull() {
        String prefix = TestRedis.prefix();
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(prefix)
                .limit(Limit.of(10, Duration.ofSeconds(10))).build()) {
            limiter.tryAcquire("a}b{c%", 3);
            List<String> keys = admin.sync().keys(prefix + "*");
            assertThat(keys).hasSize(1);
            assertThat(keys.get(0)).startsWith(prefix + "{a%7Db%7Bc%25}:tb:");
            // 3 permits of 10 per 10 s take 3 s to refill, so the key lives at most that long
            assertThat(admin.sync().pttl(keys.get(0))).isBetween(2_000L, 3_000L);
            assertThat(admin.sync().get(keys.get(0))).startsWith("1|");
            limiter.reset("a}b{c%");
            assertThat(admin.sync().keys(prefix + "*")).isEmpty();
        }
    }

    @Test
    void clientTextCannotReachAnotherClientsState() {
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(TestRedis.prefix())
                .ticker(now::get).limit(Limit.of(1, Duration.ofMinutes(1))).build()) {
            for (String client : List.of("x", "{x}", "x}", "%7Bx%7D", "x:tb", "{x")) {
                assertThat(limiter.tryAcquire(client).allowed()).as(client).isTrue();
            }
        }
    }

    /** ASCII keys are encoded on a faster path than others; a client's text must keep its own bytes either way. */
    @Test
    void nonAsciiClientsKeepTheirUtf8Keys() {
        String prefix = TestRedis.prefix();
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(prefix)
                .ticker(now::get).limit(Limit.of(1, Duration.ofMinutes(1))).build()) {
            for (String client : List.of("user:jürgen", "user:j?rgen", "user:j\u00fcrgen\u20ac", "user:j\u00fcrgen?")) {
                assertThat(limiter.tryAcquire(client).allowed()).as(client).isTrue();
            }
            assertThat(limiter.tryAcquire("user:jürgen").allowed()).isFalse();
            assertThat(admin.sync().keys(prefix + "{user:j\u00fcrgen}*")).hasSize(1);
        }
    }

    /**
     * UTF-8 has no encoding of a lone surrogate, and Lettuce writes '?' for one, so unescaped
     * these clients shared a key with "user-?".
     */
    @Test
    void clientsWithUnpairedSurrogatesKeepKeysOfTheirOwn() {
        String prefix = TestRedis.prefix();
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(prefix)
                .ticker(now::get).limit(Limit.of(1, Duration.ofMinutes(1))).build()) {
            List<String> clients = List.of("user-?", "user-\uD800", "user-\uDC00", "user-\uDC00\uD800", "user-%uD800",
                    "user-\uD83D\uDE00", "user-\uD800\uD83D\uDE00");
            for (String client : clients) {
                assertThat(limiter.tryAcquire(client).allowed()).as(client).isTrue();
            }
            assertThat(admin.sync().keys(prefix + "*")).hasSize(clients.size());
            // a pair is ordinary text, kept as it was so that existing keys stay where they are
            assertThat(admin.sync().keys(prefix + "{user-\uD83D\uDE00}*")).hasSize(1);
            assertThat(KeyLayout.escape("user-\uD800\uD83D\uDE00%")).isEqualTo("user-%uD800\uD83D\uDE00%25");
        }
    }

    @Test
    void leakyBucketAcquireReservesTheNextSlotAndWaitsForIt() throws InterruptedException {
        AtomicLong now = new AtomicLong(T0);
        AtomicLong slept = new AtomicLong();
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(TestRedis.prefix())
                .ticker(now::get).sleeper(nanos -> slept.addAndGet(nanos)).algorithm(Algorithm.LEAKY_BUCKET)
                .limit(Limit.of(4, Duration.ofSeconds(1))).build()) {
            assertThat(limiter.acquire("q", 1, Duration.ZERO).allowed()).isTrue();
            assertThat(limiter.acquire("q", 1, Duration.ofMillis(100)).allowed()).isFalse();
            assertThat(limiter.acquire("q", 1, Duration.ofMillis(250)).allowed()).isTrue();
            assertThat(slept.get()).isEqualTo(250_000_000);
            assertThat(limiter.tryAcquire("q").retryAfter()).isEqualTo(Duration.ofMillis(500));
        }
    }

    /**
     * One permit every 333.33 µs: core's slot is 333,334 ns away, which a max wait of 333,500 ns
     * admits; Redis's is 334 µs away, and a max wait rounded down to 333 µs refused it. Then the
     * µs granularity of the reservation: Redis's queue ends at 667.33 µs, core's at 666.67 µs.
     */
    @Test
    void leakyBucketAcquireAdmitsWhereCoreDoesAndReservesNoEarlier() throws InterruptedException {
        AtomicLong now = new AtomicLong(T0);
        Limit limit = Limit.of(3, Duration.ofMillis(1));
        RateLimiter memory = RateLimiter.builder().algorithm(Algorithm.LEAKY_BUCKET).limit(limit)
                .ticker(now::get).sleeper(nanos -> { }).build();
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(TestRedis.prefix())
                .algorithm(Algorithm.LEAKY_BUCKET).ticker(now::get).sleeper(nanos -> { }).limit(limit).build()) {
            assertThat(memory.tryAcquire("k").allowed()).isTrue();
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            assertThat(memory.acquire("k", 1, Duration.ofNanos(333_500)).allowed()).isTrue();
            assertThat(limiter.acquire("k", 1, Duration.ofNanos(333_500)).allowed()).as("core admits").isTrue();
            now.addAndGet(667_000);
            assertThat(memory.tryAcquire("k").allowed()).isTrue();
            assertThat(limiter.tryAcquire("k")).as("the slot began on a whole µs, 334 µs after the first")
                    .isEqualTo(new Decision(false, 2, 3, 1_000, 1_000));
            now.addAndGet(1_000);
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        }
    }

    /**
     * The sliding counter after a step back behind its window's start (Redis's TIME after a
     * failover, or a test ticker): the request is decided as at the start, and its waits count from
     * the reading, as core's do. They once counted from the start, short by the step, so a client
     * retried too early and acquire() slept for a wait that ended in a denial. Two a second: one
     * admitted at T0, one at T0 + 1 s, which rolls the window; then a reading of T0 + 0.5 s.
     */
    @Test
    void aSlidingCounterCountsItsWaitsFromAReadingBehindItsWindowAsCoreDoes() throws InterruptedException {
        Limit limit = Limit.of(2, Duration.ofSeconds(1));
        for (List<Limit> limits : List.of(List.of(limit), List.of(limit, limit))) {
            AtomicLong now = new AtomicLong(T0);
            AtomicLong slept = new AtomicLong();
            RateLimiter memory = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_COUNTER).limits(limits)
                    .ticker(now::get).sleeper(nanos -> { }).build();
            try (RedisRateLimiter redis = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE)
                    .keyPrefix(TestRedis.prefix()).algorithm(Algorithm.SLIDING_WINDOW_COUNTER).limits(limits)
                    .localDenyCache(false).ticker(now::get).sleeper(slept::addAndGet).build()) {
                String what = limits.size() + " limit(s)";
                assertThat(redis.tryAcquire("k")).as(what).isEqualTo(memory.tryAcquire("k"));
                now.addAndGet(1_000_000_000);  // T0 + 1 s: the window rolls, weighing that permit fully
                Decision second = redis.tryAcquire("k");
                assertThat(second.allowed()).as(what).isTrue();
                assertThat(second).as(what).isEqualTo(memory.tryAcquire("k"));
                now.addAndGet(-500_000_000);   // T0 + 0.5 s, behind the window
                Decision denied = redis.tryAcquire("k");
                assertThat(denied).as(what).isEqualTo(memory.tryAcquire("k"));
                assertThat(denied.retryAfter()).as(what + ": until T0 + 2 s").isEqualTo(Duration.ofMillis(1_500));
                assertThat(denied.resetAfter()).as(what + ": until T0 + 3 s").isEqualTo(Duration.ofMillis(2_500));
                assertThat(redis.acquire("k", 1, Duration.ofMillis(1_200)).allowed()).as(what).isFalse();
                assertThat(slept.get()).as(what + ": a wait longer than maxWait is refused without sleeping").isZero();
                now.set(T0 + 2_000_000_000L - 1_000);
                assertThat(redis.tryAcquire("k").allowed()).as(what + ": 1 µs before retryAfter").isFalse();
                now.addAndGet(1_000);
                assertThat(redis.tryAcquire("k").allowed()).as(what + ": at retryAfter").isTrue();
            }
        }
    }

    @Test
    void tokenBucketAcquireWaitsForTheRefill() throws InterruptedException {
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(TestRedis.prefix())
                .ticker(now::get).sleeper(now::addAndGet).limit(Limit.of(3, Duration.ofSeconds(1))).build()) {
            assertThat(limiter.tryAcquire("w", 3).allowed()).isTrue();
            long before = now.get();
            assertThat(limiter.acquire("w", 2, Duration.ofSeconds(1)).allowed()).isTrue();
            assertThat(now.get() - before).isEqualTo(666_667_000); // 2/3 s, rounded up to the microsecond
        }
    }

    /**
     * Three a second: core's next token is 333,333,334 ns away, so a max wait of exactly that admits
     * in memory. Redis reports the wait in whole µs (333,334 µs), which is more than the max wait, and
     * a store's acquire refused it at once, though the permit comes within a µs of the max wait.
     */
    @Test
    void tokenBucketAcquireAdmitsWhereCoreDoes() throws InterruptedException {
        AtomicLong now = new AtomicLong(T0);
        Limit limit = Limit.of(3, Duration.ofSeconds(1));
        RateLimiter memory = RateLimiter.builder().limit(limit).ticker(now::get).sleeper(nanos -> { }).build();
        Duration maxWait = Duration.ofNanos(333_333_334);
        assertThat(memory.tryAcquire("w", 3).allowed()).isTrue();
        assertThat(memory.tryAcquire("w").retryAfter()).isEqualTo(maxWait);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(TestRedis.prefix())
                .ticker(now::get).sleeper(now::addAndGet).limit(limit).build()) {
            assertThat(limiter.tryAcquire("w", 3).allowed()).isTrue();
            long before = now.get();
            assertThat(limiter.acquire("w", 1, maxWait).allowed()).as("core admits").isTrue();
            assertThat(now.get() - before).as("waited for the µs the permit comes in").isEqualTo(333_334_000);
        }
    }

    @Test
    void refusesLimitsItCannotKeepExact() {
        RedisRateLimiter.Builder builder = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE);
        assertThatThrownBy(() -> builder.limit(new Limit(1_000_003, Duration.ofDays(365), 1_000_003)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("below 2^52");
        assertThatThrownBy(() -> LuaPolicy.of(new Policy(Algorithm.TOKEN_BUCKET,
                List.of(Limit.of(5, Duration.ofNanos(1_000_500))))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whole number of microseconds");
        assertThatThrownBy(() -> LuaPolicy.of(new Policy(Algorithm.SLIDING_WINDOW_COUNTER,
                List.of(Limit.of(1_000_000, Duration.ofDays(365))))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("capacity * period(µs)");
        // the largest limits stay exact when the rate divides evenly
        LuaPolicy.of(new Policy(Algorithm.TOKEN_BUCKET, List.of(Limit.of(Limit.MAX_CAPACITY, Duration.ofSeconds(1)))));
        LuaPolicy.of(new Policy(Algorithm.FIXED_WINDOW, List.of(Limit.of(Limit.MAX_CAPACITY, Limit.MAX_PERIOD))));
    }

    @Test
    void refusesAPrefixThatWouldMoveTheHashTag() {
        assertThatThrownBy(() -> RedisRateLimiter.builder().keyPrefix("app{1}:"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keyPrefix");
    }

    @Test
    void refusesDurationsTooLongToCountInNanosecondsByName() {
        // 1000 years passed a positive-only check, then overflowed Duration.toNanos() after connecting
        Duration millennium = Duration.ofDays(365L * 1000);
        assertThatThrownBy(() -> RedisRateLimiter.builder().commandTimeout(millennium))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("commandTimeout must be positive and at most 365d: " + millennium);
        assertThatThrownBy(() -> RedisRateLimiter.builder().circuitBreakerWait(millennium))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("circuitBreakerWait must be positive and at most 365d: " + millennium);
        assertThatThrownBy(() -> RedisRateLimiter.builder().commandTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("commandTimeout must be positive and at most 365d: PT0S");
        RedisRateLimiter.builder().commandTimeout(Duration.ofDays(365)).circuitBreakerWait(Duration.ofDays(365));
    }

    /**
     * A CLOSED build whose thread is interrupted while it connects refuses to build, but the
     * connection attempt goes on on its own thread: the connection it opens must be closed, not
     * left open for the life of the client with nobody to close it.
     */
    @Test
    void aClosedBuildInterruptedWhileConnectingLeavesNoConnectionOpen() throws InterruptedException {
        String name = "rltest-" + UUID.randomUUID();
        RedisURI uri = RedisURI.create(TestRedis.uri().toURI().toString());
        uri.setClientName(name);
        RedisClient named = RedisClient.create(uri);
        try {
            Thread.currentThread().interrupt();
            assertThatThrownBy(() -> RedisRateLimiter.builder().client(named).failureMode(FailureMode.CLOSED)
                    .commandTimeout(SLOW_MACHINE).keyPrefix(TestRedis.prefix()).limit(Limit.of(1, Duration.ofMinutes(1)))
                    .build())
                    .isInstanceOf(RedisUnavailableException.class).hasMessageContaining("interrupted");
            assertThat(Thread.interrupted()).as("the flag is kept").isTrue();
            // The attempt ends on its thread, which closes what it opened before it ends if told to.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (Thread.getAllStackTraces().keySet().stream()
                    .anyMatch(t -> t.isAlive() && t.getName().equals("ratelimit-redis-connect"))
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            while (admin.sync().clientList().contains("name=" + name + " ") && System.nanoTime() < deadline) {
                Thread.sleep(10); // the server takes a moment to see a closed connection go
            }
            assertThat(admin.sync().clientList()).as("connections named %s", name).doesNotContain("name=" + name + " ");
        } finally {
            Thread.interrupted();
            named.shutdown();
        }
    }

    @Test
    void differentPoliciesUnderOnePrefixNeverShareState() {
        String prefix = TestRedis.prefix();
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter one = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(prefix).ticker(now::get)
                .limit(Limit.of(1, Duration.ofMinutes(1))).build();
             RedisRateLimiter two = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE).keyPrefix(prefix).ticker(now::get)
                     .limit(Limit.of(1, Duration.ofMinutes(2))).build()) {
            assertThat(one.tryAcquire("k").allowed()).isTrue();
            assertThat(two.tryAcquire("k").allowed()).isTrue();
        }
    }
}
