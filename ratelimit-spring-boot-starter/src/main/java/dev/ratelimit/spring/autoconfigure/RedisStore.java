package dev.ratelimit.spring.autoconfigure;

import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.redis.FailureMode;
import dev.ratelimit.redis.RedisRateLimiter;
import dev.ratelimit.redis.RedisUnavailableException;
import dev.ratelimit.redis.SharedRedisConnection;
import dev.ratelimit.spring.RateLimitRedisProperties;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.context.SmartLifecycle;

/**
 * The Redis store: one {@link SharedRedisConnection} on Spring Data Redis's Lettuce client, and
 * the {@link RedisRateLimiter}s the enforcer creates on it, one per rule and tier. Each limiter's
 * keys carry its name after the prefix, so two rules never share a client's state, just as they
 * never share an in-memory limiter. Closing the store closes the connection, not the client,
 * which Spring Data Redis owns.
 *
 * <p>Stopping the context (a CRaC checkpoint does) shuts that client down, and starting it again
 * builds a new one. So the store is a {@link SmartLifecycle} started after the connection factory:
 * on a start that finds a new client it opens its connection there and rebuilds every limiter on
 * it, behind the {@link RateLimiter} it handed out (the counts are in Redis; only the node's deny
 * cache and breaker start afresh). Without that, every later call would fail on the closed
 * connection, and failure mode {@code open} would admit everything.
 */
final class RedisStore implements AutoCloseable, SmartLifecycle {

    private static final Log LOG = LogFactory.getLog(RedisStore.class);

    private final Supplier<AbstractRedisClient> clients;
    private final int phase;
    private final RateLimitRedisProperties properties;
    private final FailureMode failureMode;
    private final List<StoreLimiter> limiters = new CopyOnWriteArrayList<>();
    private volatile AbstractRedisClient client;
    private volatile SharedRedisConnection connection;
    private volatile boolean running;

    /**
     * Checks the properties and connects. An unreachable Redis stops the application in
     * {@link FailureMode#CLOSED}; otherwise it is logged, and limiters connect once Redis answers.
     *
     * @throws InvalidConfigurationPropertyValueException naming a bad {@code ratelimit.redis.*} value
     * @param clients  Spring Data Redis's current native client, which a restart of the context replaces
     * @param phase    this store's lifecycle phase: after the connection factory's, so that it starts later
     * @throws RedisStoreException                        in CLOSED mode, when Redis does not answer; in any
     *                                                    mode, when the client has no Redis to connect to
     */
    RedisStore(Supplier<AbstractRedisClient> clients, int phase, RateLimitRedisProperties properties) {
        check(properties);
        this.clients = clients;
        this.phase = phase;
        this.properties = properties;
        this.failureMode = FailureMode.valueOf(properties.getFailureMode().name());
        this.client = clients.get();
        this.connection = connectionOn(client);
        try {
            connection.connect();
        } catch (RedisUnavailableException e) {
            if (e.getCause() instanceof IllegalStateException) {
                // Lettuce's answer for a client built without a RedisURI, as Spring Data Redis builds it
                // for a static master/replica set-up: no outage, so no probe would ever connect.
                connection.close();
                throw new RedisStoreException("ratelimit.store=redis cannot connect through the"
                        + " LettuceConnectionFactory's native client, which has no Redis to connect to: "
                        + e.getCause().getMessage(),
                        "Configure the factory with one Redis (a RedisStandaloneConfiguration or spring.data.redis.url),"
                                + " Sentinel or Cluster; a static master/replica set-up is not supported.", e);
            }
            if (failureMode == FailureMode.CLOSED) {
                connection.close();
                throw new RedisStoreException("Redis did not answer at start-up, and ratelimit.redis.failure-mode is"
                        + " closed, so no request could be admitted: " + e.getMessage(),
                        "Start Redis or correct spring.data.redis.*, or set ratelimit.redis.failure-mode to open"
                                + " or local to start while Redis is unreachable.", e);
            }
            LOG.warn("Redis did not answer at start-up; rate limits are decided by ratelimit.redis.failure-mode="
                    + properties.getFailureMode().name().toLowerCase() + " until it does: " + e.getMessage());
        }
    }

    private static SharedRedisConnection connectionOn(AbstractRedisClient client) {
        return client instanceof RedisClusterClient cluster ? SharedRedisConnection.of(cluster)
                : SharedRedisConnection.of((RedisClient) client);
    }

    private static void check(RateLimitRedisProperties properties) {
        String prefix = properties.getKeyPrefix();
        if (prefix == null || prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
            throw new InvalidConfigurationPropertyValueException("ratelimit.redis.key-prefix", prefix,
                    "must be set and must not contain '{' or '}', which would change the cluster hash tag");
        }
        positive("ratelimit.redis.command-timeout", properties.getCommandTimeout());
        positive("ratelimit.redis.circuit-breaker-wait", properties.getCircuitBreakerWait());
        if (properties.getDenyCache().getSize() <= 0) {
            throw new InvalidConfigurationPropertyValueException("ratelimit.redis.deny-cache.size",
                    properties.getDenyCache().getSize(), "must be positive");
        }
    }

    /** Positive and at most 365 days, as the limiter's builder accepts, but named by the property. */
    private static void positive(String path, Duration duration) {
        if (duration == null || duration.isNegative() || duration.isZero() || duration.compareTo(Duration.ofDays(365)) > 0) {
            throw new InvalidConfigurationPropertyValueException(path, duration, "must be positive and at most 365d");
        }
    }

    /**
     * A limiter for {@code policy} whose keys start with the prefix and {@code name}.
     *
     * @throws RedisUnavailableException in CLOSED mode, when Redis cannot be reached in time
     */
    synchronized RateLimiter create(String name, Policy policy) {
        StoreLimiter limiter = new StoreLimiter(name, policy, build(connection, name, policy));
        limiters.add(limiter);
        return limiter;
    }

    private RedisRateLimiter build(SharedRedisConnection on, String name, Policy policy) {
        return RedisRateLimiter.builder()
                .connection(on)
                .policy(policy)
                .keyPrefix(properties.getKeyPrefix() + escape(name) + ":")
                .commandTimeout(properties.getCommandTimeout())
                .circuitBreakerWait(properties.getCircuitBreakerWait())
                .failureMode(failureMode)
                .localDenyCache(properties.getDenyCache().isEnabled())
                .localDenyCacheSize(properties.getDenyCache().getSize())
                .build();
    }

    /**
     * Moves to the factory's client if a restart replaced it: a new connection, and every limiter
     * rebuilt on it. Redis being down then is no reason to fail the start: the limiters decide by
     * the failure mode and connect on their probes, as after a start-up in open mode.
     */
    @Override
    public synchronized void start() {
        AbstractRedisClient current = clients.get();
        if (current != client) {
            SharedRedisConnection old = connection;
            SharedRedisConnection fresh = connectionOn(current);
            for (StoreLimiter limiter : limiters) {
                limiter.delegate = build(fresh, limiter.name, limiter.policy);
            }
            client = current;
            connection = fresh;
            old.close();
            try {
                fresh.connect();
            } catch (RedisUnavailableException e) {
                LOG.warn("Redis did not answer when the application started again; rate limits are decided by"
                        + " ratelimit.redis.failure-mode=" + properties.getFailureMode().name().toLowerCase()
                        + " until it does: " + e.getMessage());
            }
        }
        running = true;
    }

    /** Nothing to do: the factory's stop closes the client under the connection, and a start replaces both. */
    @Override
    public void stop() {
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return phase;
    }

    /** A limiter name as key text: '%', '{' and '}' escaped, so no name can open a hash tag. */
    private static String escape(String name) {
        return name.replace("%", "%25").replace("{", "%7B").replace("}", "%7D");
    }

    FailureMode failureMode() {
        return failureMode;
    }

    /** The limiters created so far, as they are now. */
    List<RedisRateLimiter> limiters() {
        return limiters.stream().map(limiter -> limiter.delegate).toList();
    }

    /**
     * Whether the connection is open and no limiter's latest call to Redis failed. A connection that
     * never opened (Redis was down at start-up) is tried again first, for at most the command
     * timeout: limiters open it only when a request needs them, so with no limiter yet, or no
     * traffic, nothing else would, and the store would be reported down for good.
     *
     * <p>Likewise a limiter whose latest call failed is probed: its circuit breaker closes only when
     * a call succeeds, and a rule or tier may see no request for hours, or none at all once a
     * readiness probe that includes this check has taken the node out of service. The probe is a
     * reset of {@link #PROBE_KEY}, which the breaker lets through at most once a
     * {@code circuit-breaker-wait}; it decides nothing, so no fallback decision is counted, and a
     * failed one counts as a failed call. Probing stops at the first failure, so a check during an
     * outage waits at most one command timeout.
     */
    boolean isAvailable() {
        SharedRedisConnection connection = this.connection;
        if (!connection.isOpen()) {
            try {
                connection.open(properties.getCommandTimeout());
            } catch (RedisUnavailableException e) {
                return false; // still down, or still connecting: the next check tries again
            }
        }
        if (!connection.isOpen()) {
            return false;
        }
        for (RedisRateLimiter limiter : limiters()) {
            if (!limiter.isAvailable()) {
                try {
                    limiter.reset(PROBE_KEY);
                } catch (RedisUnavailableException e) {
                    return false; // still failing, or the breaker's wait has not passed: the next check tries again
                }
            }
        }
        return true;
    }

    /**
     * The key a health check resets to probe a limiter. No client has it: every key the starter
     * builds starts with its source ({@code ip:}, {@code key:}, ...).
     */
    static final String PROBE_KEY = "ratelimit-health-probe";

    /** Seconds a client should wait before retrying while Redis cannot decide: the breaker's wait, rounded up. */
    long retryAfterSeconds() {
        Duration wait = properties.getCircuitBreakerWait();
        return Math.max(1, wait.getSeconds() + (wait.getNano() > 0 ? 1 : 0));
    }

    @Override
    public void close() {
        limiters().forEach(RedisRateLimiter::close);
        connection.close();
    }

    /** What the enforcer holds: the limiter on the store's current connection. */
    private static final class StoreLimiter implements RateLimiter {

        private final String name;
        private final Policy policy;
        private volatile RedisRateLimiter delegate;

        StoreLimiter(String name, Policy policy, RedisRateLimiter delegate) {
            this.name = name;
            this.policy = policy;
            this.delegate = delegate;
        }

        @Override
        public Decision tryAcquire(String key) {
            return delegate.tryAcquire(key);
        }

        @Override
        public Decision tryAcquire(String key, long permits) {
            return delegate.tryAcquire(key, permits);
        }

        @Override
        public Decision peek(String key) {
            return delegate.peek(key);
        }

        @Override
        public Decision acquire(String key, long permits, Duration maxWait) throws InterruptedException {
            return delegate.acquire(key, permits, maxWait);
        }

        @Override
        public void reset(String key) {
            delegate.reset(key);
        }

        @Override
        public Policy policy() {
            return delegate.policy();
        }
    }
}
