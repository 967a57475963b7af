package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Building a limiter while nothing listens on Redis's port: OPEN and LOCAL build anyway (warning,
 * breaker open) and start using Redis once a server appears on that port; CLOSED refuses to build.
 */
class RedisUnreachableAtStartTest {

    private int port;
    private RedisClient client;
    private RedisProcess redis;

    @BeforeEach
    void pickAPortWhereNothingListens() {
        port = RedisProcess.freePort();
        client = RedisClient.create("redis://127.0.0.1:" + port);
    }

    @AfterEach
    void stop() {
        client.shutdown();
        if (redis != null) {
            redis.close();
        }
    }

    private RedisRateLimiter.Builder limiter(FailureMode mode, Limit limit) {
        return RedisRateLimiter.builder().client(client).failureMode(mode).commandTimeout(Duration.ofMillis(500))
                .circuitBreakerWait(Duration.ofMillis(100)).keyPrefix(TestRedis.prefix()).limit(limit);
    }

    /** A reset is an operator's act, not a decision: no failure mode may report one that did not happen. */
    @Test
    void aResetRedisDidNotConfirmThrowsInEveryFailureMode() {
        for (FailureMode mode : List.of(FailureMode.OPEN, FailureMode.LOCAL)) {
            try (RedisRateLimiter limiter = limiter(mode, Limit.of(1, Duration.ofDays(1))).build()) {
                // refused by the open breaker, or by the probe it lets through: either way, not done
                assertThatThrownBy(() -> limiter.reset("k")).as(mode.name())
                        .isInstanceOf(RedisUnavailableException.class);
            }
        }
    }

    @Test
    void openModeBuildsAdmitsAndUsesRedisOnceItAnswers() throws InterruptedException {
        try (RedisRateLimiter limiter = limiter(FailureMode.OPEN, Limit.of(1, Duration.ofDays(1))).build()) {
            assertThat(limiter.isAvailable()).isFalse();
            assertThat(limiter.failedCalls()).isEqualTo(1);
            assertThat(limiter.lastFailure()).contains("cannot connect to Redis");
            for (int i = 0; i < 3; i++) {
                assertThat(limiter.tryAcquire("early").allowed()).as("OPEN admits while Redis is down").isTrue();
            }
            assertThat(limiter.fallbackDecisions()).isEqualTo(3);

            redis = new RedisProcess(port);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!limiter.isAvailable() && System.nanoTime() < deadline) {
                limiter.peek("probe"); // the breaker lets one call through every 100 ms; it connects
                Thread.sleep(20);
            }
            assertThat(limiter.isAvailable()).as("connected once Redis answered").isTrue();
            assertThat(limiter.tryAcquire("late").allowed()).isTrue();
            assertThat(limiter.tryAcquire("late").allowed()).as("Redis decides: one a day").isFalse();
        }
    }

    /** The README promises OPEN's figures are a fresh key's: those Redis gives a key it has never seen. */
    @Test
    void openModeGivesTheFiguresOfAFreshKey() {
        List<Limit> limits = List.of(Limit.of(10, Duration.ofSeconds(1)), Limit.of(50, Duration.ofMinutes(7)));
        RedisClient shared = TestRedis.client();
        try {
            for (Algorithm algorithm : Algorithm.values()) {
                try (RedisRateLimiter down = limiter(FailureMode.OPEN, limits.get(0)).limit(limits.get(1))
                        .algorithm(algorithm).build();
                     RedisRateLimiter up = RedisRateLimiter.builder().client(shared).algorithm(algorithm).limits(limits)
                             .keyPrefix(TestRedis.prefix()).ticker(() -> 1_700_000_000_000_000_000L)
                             .commandTimeout(Duration.ofSeconds(2)).build()) {
                    for (long permits : new long[] {1, 3, 10}) {
                        assertThat(down.tryAcquire("k", permits)).as("%s, %d permits", algorithm, permits)
                                .isEqualTo(up.tryAcquire("fresh-" + permits, permits));
                    }
                    assertThat(down.peek("k")).as("%s, peek", algorithm).isEqualTo(up.peek("never-seen"));
                    assertThat(down.fallbackDecisions()).isEqualTo(4);
                }
            }
        } finally {
            shared.shutdown();
        }
    }

    @Test
    void localModeBuildsAndEnforcesTheLimitOnThisNode() {
        try (RedisRateLimiter limiter = limiter(FailureMode.LOCAL, Limit.of(2, Duration.ofDays(1))).build()) {
            List<Boolean> allowed = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                allowed.add(limiter.tryAcquire("local").allowed());
            }
            assertThat(allowed).containsExactly(true, true, false);
            assertThat(limiter.isAvailable()).isFalse();
        }
    }

    @Test
    void closedModeRefusesToBuild() {
        assertThatThrownBy(() -> limiter(FailureMode.CLOSED, Limit.of(1, Duration.ofDays(1))).build())
                .isInstanceOf(RedisUnavailableException.class)
                .hasMessageContaining("cannot connect to Redis");
    }
}
