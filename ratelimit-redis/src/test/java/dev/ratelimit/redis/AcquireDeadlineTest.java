package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Ticker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code acquire(maxWait)} when the Redis calls it makes take time of their own: a Redis that
 * answers late, or not at all (the failure mode decides after the command timeout). The clock is
 * real time plus the sleeps, which the sleeper adds instead of sleeping, so that the calls' real
 * durations count toward {@code maxWait} exactly as in production while the waits cost nothing.
 * No sleep may end past {@code maxWait}, and acquire returns within {@code maxWait} plus one
 * command timeout (the call that decides may begin just before {@code maxWait} ends).
 *
 * <p>Each scenario: one permit a second, already taken; the caller may wait 700 ms, and the
 * call it makes first takes some hundreds of ms, after which the permit's wait, counted from the
 * reply (Redis may have decided as late as that), is longer than what is left. Before the fix,
 * acquire judged that wait against what was left before the call, slept it, and was admitted
 * 300 ms and more past {@code maxWait}. The margins allow a scheduling delay of 300 ms between
 * the test's steps.
 */
class AcquireDeadlineTest {

    private static final Duration MAX_WAIT = Duration.ofMillis(700);
    private static final Duration SLOW_CALL = Duration.ofMillis(300);
    private static final long SLACK_NANOS = 500_000_000L; // two shared cores

    private RedisProcess redis;
    private RedisClient client;
    private StatefulRedisConnection<String, String> admin;
    private final AtomicLong slept = new AtomicLong();
    private final AtomicLong latestSleepEnd = new AtomicLong();
    private final Ticker clock = () -> System.nanoTime() + slept.get();

    @BeforeEach
    void start() {
        redis = new RedisProcess();
        client = RedisClient.create(RedisURI.create(redis.uri()));
        admin = client.connect();
    }

    @AfterEach
    void stop() {
        admin.close();
        client.shutdown();
        redis.close();
    }

    private RedisRateLimiter.Builder limiter(Algorithm algorithm) {
        return RedisRateLimiter.builder().client(client).algorithm(algorithm).keyPrefix(TestRedis.prefix())
                .limit(Limit.of(1, Duration.ofSeconds(1)).withCapacity(algorithm == Algorithm.LEAKY_BUCKET ? 5 : 1))
                .localDenyCache(false).ticker(clock).sleeper(nanos -> {
                    slept.addAndGet(nanos);
                    latestSleepEnd.accumulateAndGet(clock.read(), Math::max);
                });
    }

    /**
     * Redis answers, but only after 500 ms, that the permit comes 600 ms after its decision: longer
     * than the 200 ms left.
     */
    @Test
    void aSlowAnswerCountsTowardMaxWait() throws Exception {
        try (RedisRateLimiter limiter = limiter(Algorithm.TOKEN_BUCKET).commandTimeout(Duration.ofSeconds(5)).build()) {
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            slept.addAndGet(Duration.ofMillis(400).toNanos());
            admin.sync().clientPause(500);
            assertWithinMaxWait(limiter, Duration.ofSeconds(5));
            assertThat(limiter.failedCalls()).isZero();
        }
    }

    /**
     * LOCAL: the call times out after 300 ms, and the local limiter, which took the permit just
     * before, decides: the next comes 700 ms after the call, and 400 ms are left.
     */
    @Test
    void localModeCountsTheTimedOutCallTowardMaxWait() throws Exception {
        assertLocalModeKeepsMaxWait(Algorithm.TOKEN_BUCKET);
    }

    /** The same for the leaky bucket, whose local limiter waits itself: only for what is left of maxWait. */
    @Test
    void localModeLeakyBucketWaitsOnlyForWhatIsLeft() throws Exception {
        assertLocalModeKeepsMaxWait(Algorithm.LEAKY_BUCKET);
    }

    private void assertLocalModeKeepsMaxWait(Algorithm algorithm) throws Exception {
        try (RedisRateLimiter limiter = limiter(algorithm).failureMode(FailureMode.LOCAL).commandTimeout(SLOW_CALL)
                .circuitBreakerWait(Duration.ofMillis(1)).build()) {
            assertThat(limiter.peek("warm-up").allowed()).isTrue(); // loads the script: no NOSCRIPT below
            admin.sync().clientPause(5_000);
            assertThat(limiter.tryAcquire("k").allowed()).as("decided locally, after the 300 ms timeout").isTrue();
            Thread.sleep(5); // the breaker lets the next call probe Redis, which times out again
            assertWithinMaxWait(limiter, SLOW_CALL);
            assertThat(limiter.fallbackDecisions()).isEqualTo(2);
        }
    }

    private void assertWithinMaxWait(RedisRateLimiter limiter, Duration commandTimeout) throws Exception {
        long start = clock.read();
        latestSleepEnd.set(start);
        Decision decision = limiter.acquire("k", 1, MAX_WAIT);
        long took = clock.read() - start;
        assertThat(latestSleepEnd.get() - start).as("the latest sleep's end, after %d ms in all (%s)",
                took / 1_000_000, decision).isLessThanOrEqualTo(MAX_WAIT.toNanos() + 1_000);
        assertThat(took).as("returned within maxWait and one command timeout")
                .isLessThanOrEqualTo(MAX_WAIT.toNanos() + commandTimeout.toNanos() + SLACK_NANOS);
        assertThat(decision.allowed()).as("the permit comes after what is left: %s after %d ms", decision,
                took / 1_000_000).isFalse();
    }
}
