package dev.ratelimit.spring;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code ratelimit.redis.*} settings, used when {@code ratelimit.store=redis}. The connection
 * itself comes from {@code spring.data.redis.*}.
 */
@ConfigurationProperties("ratelimit.redis")
public class RateLimitRedisProperties {

    /** Text every Redis key of the limiters starts with; must not contain '{' or '}'. */
    private String keyPrefix = "ratelimit:";

    /** Longest a decision waits for Redis before the failure mode decides. */
    private Duration commandTimeout = Duration.ofMillis(100);

    /** What happens while Redis cannot decide: open admits, closed answers 503, local limits per node. */
    private FailureMode failureMode = FailureMode.OPEN;

    /** How long after a Redis failure decisions skip Redis before one call probes it again. */
    private Duration circuitBreakerWait = Duration.ofSeconds(1);

    private final DenyCache denyCache = new DenyCache();

    public String getKeyPrefix() {
        return keyPrefix;
    }

    public void setKeyPrefix(String keyPrefix) {
        this.keyPrefix = keyPrefix;
    }

    public Duration getCommandTimeout() {
        return commandTimeout;
    }

    public void setCommandTimeout(Duration commandTimeout) {
        this.commandTimeout = commandTimeout;
    }

    public FailureMode getFailureMode() {
        return failureMode;
    }

    public void setFailureMode(FailureMode failureMode) {
        this.failureMode = failureMode;
    }

    public Duration getCircuitBreakerWait() {
        return circuitBreakerWait;
    }

    public void setCircuitBreakerWait(Duration circuitBreakerWait) {
        this.circuitBreakerWait = circuitBreakerWait;
    }

    public DenyCache getDenyCache() {
        return denyCache;
    }

    /**
     * What limiters decide while Redis cannot answer. Mirrors {@code dev.ratelimit.redis.FailureMode},
     * so that these properties bind without {@code ratelimit-redis} on the class path.
     */
    public enum FailureMode {
        /** Admit, count and log: limits are not enforced until Redis is back. */
        OPEN,
        /** Refuse to decide: HTTP clients get 503, other callers a RedisUnavailableException. */
        CLOSED,
        /** Decide with a per-node in-memory limiter of the same limits. */
        LOCAL
    }

    /** The local deny cache: a node remembers Redis's denials and repeats them without asking Redis. */
    public static class DenyCache {

        /** Whether a node denies a client locally while an earlier Redis denial still holds. */
        private boolean enabled = true;

        /** Most client keys each limiter's deny cache holds. */
        private long size = 100_000;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public long getSize() {
            return size;
        }

        public void setSize(long size) {
            this.size = size;
        }
    }
}
