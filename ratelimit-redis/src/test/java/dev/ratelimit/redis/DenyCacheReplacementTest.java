package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A denial cached over an entry the cache still holds (its time, read in whole µs before the
 * call, has ended, but the entry was written later, so it is still present) is kept for its own
 * time, not dropped when the entry it replaced would have expired.
 */
class DenyCacheReplacementTest {

    private static RedisClient client;

    @BeforeAll
    static void connect() {
        client = TestRedis.client();
    }

    @AfterAll
    static void close() {
        client.shutdown();
    }

    @Test
    void aDenialThatReplacesAnEndedOneIsCachedForItsOwnTime() {
        long startMicros = 1_700_000_000_000_000L;
        // 999 ns into the µs: the cache's entry is written 999 ns after the µs its denial counts from
        AtomicLong nanos = new AtomicLong(1000 * startMicros + 999);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).algorithm(Algorithm.FIXED_WINDOW)
                .limit(Limit.of(1, Duration.ofSeconds(1))).limit(Limit.of(1, Duration.ofSeconds(10)))
                .keyPrefix(TestRedis.prefix()).ticker(nanos::get).build()) {
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            // both windows full; the first limit binds, so the denial is cached until its window ends, 1 s on
            assertThat(limiter.tryAcquire("k").allowed()).isFalse();
            assertThat(limiter.savedCalls()).isZero();

            // within the µs at which the first window ends: the cached denial has ended, Redis is asked
            nanos.set(1000 * (startMicros + 1_000_000) + 500);
            Decision again = limiter.tryAcquire("k");
            assertThat(again.allowed()).as("the 10 s window still denies").isFalse();
            assertThat(again.retryAfter()).isEqualTo(Duration.ofSeconds(9));
            assertThat(limiter.savedCalls()).isZero();

            // 1 µs later, that denial (good for 9 s more) answers locally
            nanos.addAndGet(1000);
            Decision cached = limiter.tryAcquire("k");
            assertThat(cached.allowed()).isFalse();
            assertThat(cached.retryAfter()).isEqualTo(Duration.ofSeconds(9).minusNanos(1000));
            assertThat(limiter.savedCalls()).as("round trips saved").isEqualTo(1);
        }
    }
}
