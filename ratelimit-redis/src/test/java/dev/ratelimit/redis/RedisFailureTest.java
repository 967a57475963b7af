package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Redis failing under load, on a redis-server of the test's own: killed, paused, restarted with
 * an empty script cache. No exception other than the documented {@link RedisUnavailableException}
 * (CLOSED mode) reaches the caller, every call returns within the timeout plus scheduling slack,
 * the breaker keeps failed Redis calls to about one per thread and probe, and decisions come from Redis
 * again after recovery. Loops are bounded in count and time.
 */
class RedisFailureTest {

    private static final Duration TIMEOUT = Duration.ofMillis(100);
    private static final long SLACK_NANOS = 400_000_000L; // two shared cores, GC
    private static final int THREADS = 16;
    private static final Duration BREAKER_WAIT = Duration.ofMillis(200);

    private RedisProcess redis;
    private RedisClient client;

    @BeforeEach
    void start() {
        redis = new RedisProcess();
        client = RedisClient.create(RedisURI.create(redis.uri()));
    }

    @AfterEach
    void stop() {
        client.shutdown();
        redis.close();
    }

    private RedisRateLimiter.Builder limiter(FailureMode mode) {
        return RedisRateLimiter.builder().client(client).failureMode(mode).commandTimeout(TIMEOUT)
                .circuitBreakerWait(BREAKER_WAIT).keyPrefix(TestRedis.prefix())
                .limit(Limit.of(1_000_000, Duration.ofSeconds(1)));
    }

    @Test
    void killedMidLoadOpenModeAllowsWithoutExceptionsAndResumes() throws Exception {
        try (RedisRateLimiter limiter = limiter(FailureMode.OPEN).build()) {
            Load load = new Load(limiter, 4_000);
            Thread.sleep(500);
            long down = System.nanoTime();
            redis.kill();
            Thread.sleep(1_000);
            redis.start();
            long outageNanos = System.nanoTime() - down;
            load.awaitEnd();
            load.assertHealthy();
            System.out.println("kill mid-load: " + load.calls + " calls, " + load.slowCalls + " waited for the timeout, slowest "
                    + load.maxNanos.get() / 1_000_000 + " ms, " + limiter.failedCalls() + " failed Redis calls");
            // after the outage, Redis decides again: a fresh key of capacity 1 admits once, then denies
            assertResumed(limiter);
            assertThat(limiter.fallbackDecisions()).isPositive();
            // The breaker: the calls in flight when Redis died or came back, plus about one probe per
            // wait while it was down. Derived from the measured outage, since a loaded machine
            // stretches it; either way thousands of times fewer than the calls made.
            long probes = outageNanos / BREAKER_WAIT.toNanos() + 1;
            assertThat(limiter.failedCalls()).as("Redis calls that failed or timed out, outage %d ms", outageNanos / 1_000_000)
                    .isLessThanOrEqualTo(2L * THREADS + 2 * probes);
            assertThat(load.calls.get()).isGreaterThan(10L * load.slowCalls.get());
        }
    }

    @Test
    void clientPauseClosedModeThrowsOnlyRedisUnavailableWithinTheTimeout() throws Exception {
        try (RedisRateLimiter limiter = limiter(FailureMode.CLOSED).build();
             StatefulRedisConnection<String, String> admin = client.connect()) {
            assertThat(limiter.tryAcquire("warm-up").allowed()).isTrue();
            admin.sync().clientPause(1_000);
            long started = System.nanoTime();
            int unavailable = 0;
            RedisUnavailableException first = null;
            while (System.nanoTime() - started < 800_000_000L) {
                long t0 = System.nanoTime();
                try {
                    limiter.tryAcquire("paused");
                } catch (RedisUnavailableException e) {
                    unavailable++;
                    first = first == null ? e : first;
                }
                assertThat(System.nanoTime() - t0).isLessThan(TIMEOUT.toNanos() + SLACK_NANOS);
            }
            assertThat(unavailable).isPositive();
            // the call that timed out says so, with its cause: the breaker was not open yet
            assertThat(first).hasMessageContaining("did not answer").hasMessageNotContaining("circuit breaker open")
                    .cause().isNotNull();
            assertThat(limiter.isAvailable()).isFalse();
            assertThat(limiter.lastFailure()).contains("did not answer");
            Thread.sleep(400); // the pause ends
            assertResumed(limiter);
        }
    }

    @Test
    void clientPauseLocalModeEnforcesTheLimitPerNode() throws Exception {
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).failureMode(FailureMode.LOCAL)
                .commandTimeout(TIMEOUT).circuitBreakerWait(Duration.ofSeconds(5)).keyPrefix(TestRedis.prefix())
                .limit(Limit.of(3, Duration.ofDays(1))).build();
             StatefulRedisConnection<String, String> admin = client.connect()) {
            admin.sync().clientPause(1_000);
            List<Boolean> allowed = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                allowed.add(limiter.tryAcquire("local").allowed());
            }
            assertThat(allowed).containsExactly(true, true, true, false, false);
            assertThat(limiter.fallbackDecisions()).isEqualTo(5);
        }
    }

    @Test
    void restartFlushesScriptsAndDecisionsResumeWithoutFailures() throws Exception {
        // This test is about reloading scripts, not about timeouts: a generous timeout keeps a
        // slow first call on a busy machine from opening the breaker.
        try (RedisRateLimiter limiter = limiter(FailureMode.CLOSED).commandTimeout(Duration.ofSeconds(2)).build();
             StatefulRedisConnection<String, String> admin = client.connect()) {
            assertThat(limiter.tryAcquire("before").allowed()).isTrue();
            admin.sync().scriptFlush();
            assertThat(limiter.tryAcquire("after-flush").allowed()).isTrue();
            assertThat(limiter.failedCalls()).as("NOSCRIPT is reloaded, not a failure").isZero();

            redis.kill();
            redis.start();
            long deadline = System.nanoTime() + 10_000_000_000L;
            Decision decision = null;
            while (decision == null && System.nanoTime() < deadline) {
                try {
                    decision = limiter.tryAcquire("after-restart");
                } catch (RedisUnavailableException stillDown) {
                    Thread.sleep(50);
                }
            }
            assertThat(decision).isNotNull();
            assertThat(decision.allowed()).isTrue();
            assertResumed(limiter);
        }
    }

    @Test
    void closedModeDeniesDistinctlyWhenRedisIsDown() {
        try (RedisRateLimiter limiter = limiter(FailureMode.CLOSED).build()) {
            redis.kill();
            assertThatThrownBy(() -> limiter.tryAcquire("down")).isInstanceOf(RedisUnavailableException.class);
            assertThatThrownBy(() -> limiter.peek("down")).isInstanceOf(RedisUnavailableException.class);
            assertThat(RedisUnavailableException.PROBLEM_TYPE.toString())
                    .isEqualTo("https://iana.org/assignments/http-problem-types#temporary-reduced-capacity");
        }
    }

    /** Waits (bounded) for the breaker's probe, then checks that Redis decides: one admit, then a denial. */
    private void assertResumed(RedisRateLimiter limiter) throws InterruptedException {
        RedisRateLimiter strict = RedisRateLimiter.builder().client(client).failureMode(FailureMode.CLOSED)
                .commandTimeout(TIMEOUT).keyPrefix(TestRedis.prefix()).limit(Limit.of(1, Duration.ofDays(1))).build();
        try (strict) {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!limiter.isAvailable() && System.nanoTime() < deadline) {
                try {
                    limiter.peek("probe");
                } catch (RedisUnavailableException closedMode) {
                    // still down, or the breaker has not probed yet
                }
                Thread.sleep(50);
            }
            assertThat(limiter.isAvailable()).as("Redis answers again").isTrue();
            assertThat(strict.tryAcquire("resumed").allowed()).isTrue();
            assertThat(strict.tryAcquire("resumed").allowed()).isFalse();
        }
    }

    /** THREADS callers for at most {@code millis}, recording latency, slow calls and any exception. */
    private static final class Load {
        final AtomicLong calls = new AtomicLong();
        final AtomicLong slowCalls = new AtomicLong();
        final AtomicLong maxNanos = new AtomicLong();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        private final List<Future<?>> futures = new ArrayList<>();

        Load(RedisRateLimiter limiter, long millis) {
            long end = System.nanoTime() + millis * 1_000_000;
            for (int t = 0; t < THREADS; t++) {
                String key = "load-" + t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 200_000 && System.nanoTime() < end; i++) {
                        long t0 = System.nanoTime();
                        try {
                            limiter.tryAcquire(key);
                        } catch (Throwable e) {
                            error.compareAndSet(null, e);
                        }
                        long took = System.nanoTime() - t0;
                        calls.incrementAndGet();
                        maxNanos.accumulateAndGet(took, Math::max);
                        if (took >= TIMEOUT.toNanos() * 9 / 10) {
                            slowCalls.incrementAndGet();
                        }
                        LockSupport.parkNanos(50_000); // requests arrive; they do not spin on two cores
                    }
                }));
            }
        }

        void awaitEnd() throws Exception {
            for (Future<?> future : futures) {
                future.get(30, TimeUnit.SECONDS);
            }
            pool.shutdown();
        }

        void assertHealthy() {
            assertThat(error.get()).as("exception reaching the caller").isNull();
            assertThat(maxNanos.get()).as("slowest call (ns)").isLessThan(TIMEOUT.toNanos() + SLACK_NANOS);
        }
    }
}
