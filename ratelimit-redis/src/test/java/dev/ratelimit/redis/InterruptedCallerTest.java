package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A caller whose interrupt flag is set while Redis answers normally: Redis, not the failure
 * mode, must decide, since Redis has not failed (and the call may well have taken its permits).
 */
class InterruptedCallerTest {

    private static final long T0 = 1_700_000_000_000_000_000L;
    private static final Duration SLOW_MACHINE = Duration.ofSeconds(2);

    private static RedisClient client;

    @BeforeAll
    static void connect() {
        client = TestRedis.client();
    }

    @AfterAll
    static void close() {
        client.shutdown();
    }

    @AfterEach
    void clearFlag() {
        Thread.interrupted();
    }

    @ParameterizedTest
    @EnumSource(FailureMode.class)
    void anInterruptedCallerGetsRedisDecisionNotTheFailureModes(FailureMode mode) {
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE)
                .keyPrefix(TestRedis.prefix()).ticker(now::get).failureMode(mode).localDenyCache(false)
                .limit(Limit.of(2, Duration.ofMinutes(1))).build()) {
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            Thread.currentThread().interrupt();
            Decision denied = limiter.tryAcquire("k");
            assertThat(Thread.currentThread().isInterrupted()).as("the flag is kept").isTrue();
            Thread.interrupted();
            assertThat(denied.allowed()).as("a third permit of 2 per minute").isFalse();
            assertThat(denied.remaining()).isZero();
            assertThat(limiter.fallbackDecisions()).isZero();
            assertThat(limiter.isAvailable()).isTrue();
        }
    }

    @Test
    void anInterruptedResetStillDeletesTheState() {
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE)
                .keyPrefix(TestRedis.prefix()).ticker(now::get).limit(Limit.of(1, Duration.ofMinutes(1))).build()) {
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            Thread.currentThread().interrupt();
            limiter.reset("k");
            assertThat(Thread.interrupted()).as("the flag is kept").isTrue();
            assertThat(limiter.tryAcquire("k").allowed()).as("after the reset").isTrue();
        }
    }

    /** acquire's wait for a denial's retryAfter, interrupted: InterruptedException, and nothing taken. */
    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = "LEAKY_BUCKET", mode = EnumSource.Mode.EXCLUDE)
    void anAcquireInterruptedWhileItWaitsThrowsAndTakesNothing(Algorithm algorithm) {
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(SLOW_MACHINE)
                .keyPrefix(TestRedis.prefix()).ticker(now::get).algorithm(algorithm).localDenyCache(false)
                .limit(Limit.of(2, Duration.ofMinutes(1))).sleeper(nanos -> {
                    throw new InterruptedException();
                }).build()) {
            assertThat(limiter.tryAcquire("k", 2).allowed()).isTrue();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> limiter.acquire("k", 1, Duration.ofMinutes(2)))
                    .isInstanceOf(InterruptedException.class);
            Thread.interrupted();
            now.addAndGet(Duration.ofMinutes(2).toNanos());
            assertThat(limiter.peek("k").remaining()).as("both permits back: the interrupted wait took none").isEqualTo(2);
            assertThat(limiter.fallbackDecisions()).isZero();
        }
    }

    @Test
    void anInterruptedLeakyBucketAcquireInLocalModeThrowsInterruptedException() {
        // Redis unreachable: LOCAL decides, and its acquire is interrupted in its sleep.
        RedisClient unreachable = RedisClient.create("redis://127.0.0.1:" + RedisProcess.freePort());
        AtomicLong now = new AtomicLong(T0);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(unreachable).commandTimeout(Duration.ofMillis(200))
                .keyPrefix(TestRedis.prefix()).ticker(now::get).failureMode(FailureMode.LOCAL)
                .algorithm(Algorithm.LEAKY_BUCKET).limit(Limit.of(1, Duration.ofSeconds(1)).withCapacity(5))
                .sleeper(nanos -> {
                    throw new InterruptedException();
                }).build()) {
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> limiter.acquire("k", 1, Duration.ofSeconds(5)))
                    .isInstanceOf(InterruptedException.class);
        } finally {
            Thread.interrupted();
            unreachable.shutdown();
        }
    }
}
