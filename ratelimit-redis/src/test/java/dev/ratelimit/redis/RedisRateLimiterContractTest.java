package dev.ratelimit.redis;

import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.core.RateLimiterContract;
import dev.ratelimit.core.Sleeper;
import dev.ratelimit.core.Ticker;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * Core's contract suite against real Redis (the shared server, or an embedded one): every case,
 * unchanged. Each limiter gets its own key prefix, and {@link FailureMode#CLOSED}, so a Redis
 * failure fails the case instead of being answered by a fallback.
 */
class RedisRateLimiterContractTest extends RateLimiterContract {

    private static RedisClient client;
    private final List<RedisRateLimiter> created = new ArrayList<>();

    @BeforeAll
    static void connect() {
        client = TestRedis.client();
    }

    @AfterAll
    static void shutdown() {
        client.shutdown();
    }

    @AfterEach
    void close() {
        created.forEach(RedisRateLimiter::close);
    }

    @Override
    protected RateLimiter create(Policy policy, Ticker ticker, Sleeper sleeper) {
        RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).policy(policy)
                .keyPrefix(TestRedis.prefix()).ticker(ticker).sleeper(sleeper)
                .failureMode(FailureMode.CLOSED).commandTimeout(Duration.ofSeconds(2)).build();
        created.add(limiter);
        return limiter;
    }
}
