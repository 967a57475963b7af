package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Limiters on one {@link SharedRedisConnection}: they share it, never close it, and wait for it in time. */
class SharedRedisConnectionTest {

    private static RedisRateLimiter.Builder limiter(SharedRedisConnection shared, FailureMode mode) {
        return RedisRateLimiter.builder().connection(shared).failureMode(mode).commandTimeout(Duration.ofMillis(500))
                .circuitBreakerWait(Duration.ofMillis(100)).keyPrefix(TestRedis.prefix()).limit(Limit.of(1, Duration.ofDays(1)));
    }

    @Test
    void limitersShareTheConnectionAndLeaveItOpen() {
        RedisClient client = TestRedis.client();
        try (SharedRedisConnection shared = SharedRedisConnection.of(client)) {
            assertThat(shared.isOpen()).as("opened on first need").isFalse();
            RedisRateLimiter first = limiter(shared, FailureMode.CLOSED).build();
            assertThat(shared.isOpen()).isTrue();
            assertThat(first.tryAcquire("a").allowed()).isTrue();
            first.close();
            try (RedisRateLimiter second = limiter(shared, FailureMode.CLOSED).build()) {
                assertThat(second.tryAcquire("a").allowed()).as("a fresh prefix, on the same connection").isTrue();
                assertThat(second.tryAcquire("a").allowed()).isFalse();
                assertThat(second.failedCalls()).isZero();
            }
        } finally {
            client.shutdown();
        }
    }

    @Test
    void whileNothingListensOpenModeBuildsAndClosedModeRefuses() {
        RedisClient client = RedisClient.create("redis://127.0.0.1:" + RedisProcess.freePort());
        try (SharedRedisConnection shared = SharedRedisConnection.of(client)) {
            assertThatThrownBy(shared::connect).isInstanceOf(RedisUnavailableException.class)
                    .hasMessageContaining("cannot connect to Redis");
            try (RedisRateLimiter open = limiter(shared, FailureMode.OPEN).build()) {
                assertThat(open.isAvailable()).isFalse();
                assertThat(open.tryAcquire("a").allowed()).isTrue();
            }
            assertThatThrownBy(() -> limiter(shared, FailureMode.CLOSED).build())
                    .isInstanceOf(RedisUnavailableException.class);
        } finally {
            client.shutdown();
        }
    }

    @Test
    void onceClosedItIsNotOpenAndItsLimitersStopReachingRedis() {
        RedisClient client = TestRedis.client();
        try (SharedRedisConnection shared = SharedRedisConnection.of(client)) {
            RedisRateLimiter limiter = limiter(shared, FailureMode.CLOSED).build();
            assertThat(limiter.tryAcquire("a").allowed()).isTrue();
            shared.close();
            assertThat(shared.isOpen()).isFalse();
            assertThatThrownBy(() -> limiter.tryAcquire("a")).isInstanceOf(RedisUnavailableException.class)
                    .hasMessageContaining("the connection to Redis is closed");
            assertThatThrownBy(shared::connect).isInstanceOf(RedisUnavailableException.class)
                    .hasMessageContaining("the connection to Redis is closed");
        } finally {
            client.shutdown();
        }
    }

    @Test
    void openRefusesATimeoutItCannotWaitByName() {
        RedisClient client = TestRedis.client();
        try (SharedRedisConnection shared = SharedRedisConnection.of(client)) {
            // 1000 years overflowed Duration.toNanos(); a negative one answered "still connecting"
            Duration millennium = Duration.ofDays(365L * 1000);
            assertThatThrownBy(() -> shared.open(millennium)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("timeout must not be negative and at most 365d: " + millennium);
            assertThatThrownBy(() -> shared.open(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("timeout must not be negative and at most 365d: PT-1S");
            assertThatThrownBy(() -> shared.open(null)).isInstanceOf(NullPointerException.class).hasMessage("timeout");
            assertThat(shared.isOpen()).as("nothing was attempted").isFalse();
            shared.open(Duration.ofDays(365));
            assertThat(shared.isOpen()).isTrue();
            shared.open(Duration.ZERO); // open already: returns at once
        } finally {
            client.shutdown();
        }
    }
}
