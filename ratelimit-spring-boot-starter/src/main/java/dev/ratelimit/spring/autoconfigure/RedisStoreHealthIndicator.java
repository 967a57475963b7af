package dev.ratelimit.spring.autoconfigure;

import dev.ratelimit.redis.RedisRateLimiter;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The Redis store as its limiters see it: DOWN from a failed or timed-out call until a later call
 * succeeds, whatever the failure mode, with the mode and the counters in the details. Cheap: while
 * UP it reads the limiters' counters and sends nothing to Redis (Spring Data Redis's own
 * {@code redis} indicator pings it); while DOWN it tries to open a connection that never opened,
 * and probes each failed limiter at most once a circuit-breaker wait, so that it turns UP when
 * Redis answers though no request comes (see {@link RedisStore#isAvailable()}).
 */
final class RedisStoreHealthIndicator implements HealthIndicator {

    private final RedisStore store;

    RedisStoreHealthIndicator(RedisStore store) {
        this.store = store;
    }

    @Override
    public Health health() {
        boolean available = store.isAvailable(); // first: its probes may add to the counters
        long failedCalls = 0;
        long fallbackDecisions = 0;
        long savedCalls = 0;
        String lastFailure = "";
        for (RedisRateLimiter limiter : store.limiters()) {
            failedCalls += limiter.failedCalls();
            fallbackDecisions += limiter.fallbackDecisions();
            savedCalls += limiter.savedCalls();
            if (!limiter.isAvailable() || lastFailure.isEmpty()) {
                lastFailure = limiter.lastFailure().isEmpty() ? lastFailure : limiter.lastFailure();
            }
        }
        Health.Builder health = available ? Health.up() : Health.down();
        return health.withDetail("failureMode", store.failureMode().name().toLowerCase())
                .withDetail("limiters", store.limiters().size())
                .withDetail("failedCalls", failedCalls)
                .withDetail("fallbackDecisions", fallbackDecisions)
                .withDetail("savedCalls", savedCalls)
                .withDetail("lastFailure", lastFailure)
                .build();
    }
}
