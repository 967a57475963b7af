package dev.ratelimit.redis;

import dev.ratelimit.core.AbstractRateLimiter;
import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.core.Sleeper;
import dev.ratelimit.core.Ticker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A {@link RateLimiter} whose state lives in Redis or Redis Cluster, so that every node that
 * shares it enforces the same limits exactly.
 *
 * <p>Each decision is made by the algorithm's Lua script, sent with {@code EVALSHA}, which reads
 * Redis's own {@code TIME} (microseconds), decides and writes atomically; app servers' clocks play
 * no part. A decision takes one round trip at most: on a standalone Redis (or Sentinel), requests
 * that arrive while this limiter's earlier calls are still on their way share one script call
 * (see {@code Coalescer}).
 * The decisions, and their remaining, limit, retryAfter and resetAfter figures, are those of the
 * in-memory limiter with the same policy at the same times, with waits rounded up to whole
 * microseconds. Keys expire when their state would be full again.
 *
 * <p>When Redis fails or does not answer within the command timeout, the {@link FailureMode}
 * decides, and a circuit breaker keeps later calls from waiting for Redis until a probe succeeds.
 * {@link #isAvailable()} and the counters report health.
 *
 * <pre>{@code
 * RedisRateLimiter limiter = RedisRateLimiter.builder()
 *         .client(RedisClient.create("redis://localhost:6379"))
 *         .limit(Limit.of(100, Duration.ofMinutes(1)))
 *         .build();
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} closes the connection if the limiter opened it.
 */
public final class RedisRateLimiter extends AbstractRateLimiter implements AutoCloseable {

    private static final String FRESH_KEY = "fresh";

    private final LuaPolicy lua;
    private final KeyLayout keys;
    private final ScriptRunner runner;
    private final Coalescer coalescer;
    private final RedisConnection connection;
    private final FailureMode failureMode;
    private final CircuitBreaker breaker;
    private final DenyCache denyCache;
    private final Ticker ticker;
    private final boolean redisTime;
    private final long smallestCapacity;
    private final RateLimiter local;
    /** In {@link FailureMode#OPEN}, the figures of a fresh key: what it answers for one permit, for a peek, and for others. */
    private final Decision freshOne;
    private final Decision freshPeek;
    private final RateLimiter fresh;
    private final boolean sharedConnection;

    private RedisRateLimiter(Builder b, LuaPolicy lua, RedisConnection connection) {
        // Without a test ticker, decisions use Redis's TIME; the local clock only measures acquire's waits.
        super(lua.policy(), b.ticker == null ? Ticker.system() : b.ticker, b.sleeper);
        this.lua = lua;
        this.keys = new KeyLayout(b.keyPrefix, lua.stateName());
        this.connection = connection;
        this.sharedConnection = b.shared != null;
        this.runner = new ScriptRunner(connection, lua, b.commandTimeout.toNanos());
        this.failureMode = b.failureMode;
        this.breaker = new CircuitBreaker(b.circuitBreakerWait.toNanos(), b.failureMode);
        this.coalescer = new Coalescer(runner, lua, breaker, connection.cluster());
        this.redisTime = b.ticker == null;
        this.ticker = redisTime ? Ticker.system() : b.ticker;
        this.denyCache = b.denyCache && DenyCache.supports(lua.policy().algorithm())
                ? new DenyCache(ticker, b.denyCacheSize) : null;
        this.smallestCapacity = lua.policy().limits().stream().mapToLong(Limit::capacity).min().orElseThrow();
        this.local = b.failureMode == FailureMode.LOCAL
                ? RateLimiter.builder().algorithm(lua.policy().algorithm()).limits(lua.policy().limits())
                        .ticker(ticker).sleeper(b.sleeper).build()
                : null;
        // A fresh key's figures are relative to its first request, so a frozen clock serves for every call.
        this.fresh = b.failureMode == FailureMode.OPEN
                ? RateLimiter.builder().algorithm(lua.policy().algorithm()).limits(lua.policy().limits())
                        .ticker(() -> 0L).build()
                : null;
        this.freshOne = fresh != null ? fresh(1) : null;
        this.freshPeek = fresh != null ? roundedUpToMicros(fresh.peek(FRESH_KEY)) : null;
    }

    /** Returns a builder; a client or connection and at least one limit are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * {@inheritDoc}
     *
     * <p>A denial of a single permit is remembered by this node until it would change (see
     * {@link Builder#localDenyCache}), so a flood of denied requests costs no round trips.
     *
     * @throws RedisUnavailableException in {@link FailureMode#CLOSED} when Redis cannot decide
     */
    @Override
    public Decision tryAcquire(String key, long permits) {
        check(key, permits);
        long now = Math.floorDiv(ticker.read(), 1000);
        if (permits == 1 && denyCache != null) {
            Decision cached = denyCache.get(key, now);
            if (cached != null) {
                return cached;
            }
        }
        long generation = denyCache != null ? denyCache.generation() : 0;
        Reply reply = call(key, "a", permits, 0, now);
        if (reply == null) {
            return fallback(permits, limiter -> limiter.tryAcquire(key, permits));
        }
        if (!reply.allowed() && reply.stableMicros() > 0 && denyCache != null) {
            denyCache.put(key, now, reply, generation);
        }
        return reply.decision();
    }

    /**
     * {@inheritDoc}
     *
     * @throws RedisUnavailableException in {@link FailureMode#CLOSED} when Redis cannot decide
     */
    @Override
    public Decision peek(String key) {
        Policy.checkKey(key);
        Reply reply = call(key, "p", 1, 0, Math.floorDiv(ticker.read(), 1000));
        if (reply == null) {
            return fallback(0, limiter -> limiter.peek(key));
        }
        return reply.decision();
    }

    /**
     * The leaky bucket queues: its script reserves the slot in Redis, and {@link #acquire} waits
     * for it here. The wait is measured on the local clock (or the test ticker); the decision uses
     * Redis time. Other algorithms return null, so {@code acquire} retries {@link #tryAcquire},
     * judging each denial's {@code retryAfter} by what is left of {@code maxWait} after the call.
     *
     * <p>The script knows the wait only in whole µs, rounded up, so {@code maxWait} is rounded up
     * too: a wait core would admit (at most {@code maxWait}) is then never refused, and one that is
     * admitted waits less than a µs past {@code maxWait} at most. When Redis cannot decide, the
     * local limiter of {@link FailureMode#LOCAL} waits itself, for what the failed call left of
     * {@code maxWait}.
     */
    @Override
    protected Reservation reserve(String key, long permits, long maxWaitNanos) {
        if (lua.policy().algorithm() != Algorithm.LEAKY_BUCKET) {
            return null;
        }
        long start = ticker.read();
        Reply reply = call(key, "r", permits, microsUp(maxWaitNanos), Math.floorDiv(start, 1000));
        if (reply == null) {
            // The local limiter waits itself (through the same sleeper), so nothing is left to wait
            // here; the call that failed may have taken up to the command timeout of maxWait.
            Duration left = Duration.ofNanos(Math.max(0, maxWaitNanos - Math.max(0, ticker.read() - start)));
            return new Reservation(0, fallback(permits, limiter -> limiter.acquire(key, permits, left)));
        }
        return new Reservation(reply.allowed() ? 1000 * reply.waitMicros() : 0, reply.decision());
    }

    /**
     * {@inheritDoc}
     *
     * <p>Deletes the key's state in Redis and this node's cached denial, including one whose
     * reply was on its way; other nodes may still deny it from their caches until their cached
     * retry time.
     *
     * <p>Unlike a decision, a reset that Redis did not confirm is never left to the failure mode:
     * whatever the mode, it throws, since an operator told "done" would believe the client's
     * limits were restored while Redis still holds its counts.
     *
     * @throws RedisUnavailableException when Redis did not delete it (the key may or may not be
     *                                   gone), or while the circuit breaker keeps calls from Redis
     */
    @Override
    public void reset(String key) {
        Policy.checkKey(key);
        if (denyCache != null) {
            denyCache.invalidate(key);
        }
        if (local != null) {
            local.reset(key);
        }
        if (!breaker.allow()) {
            throw new RedisUnavailableException("Redis cannot reset the key: circuit breaker open after "
                    + breaker.lastError(), null);
        }
        try {
            runner.delete(new String[] {keys.key(key)});
            breaker.succeeded();
        } catch (RuntimeException e) {
            breaker.failed(e);
            throw e instanceof RedisUnavailableException unavailable ? unavailable
                    : new RedisUnavailableException("Redis failed to reset: " + e, e);
        } finally {
            if (denyCache != null) {
                // a call sent after the first invalidation may still have been decided before the DEL
                denyCache.invalidate(key);
            }
        }
    }

    /**
     * Whether Redis answered the latest call: false from a failure or timeout until a later call
     * succeeds. A health indicator reports DOWN (or, in {@link FailureMode#OPEN}, degraded) while false.
     * Cheap: reads a field, sends nothing.
     */
    public boolean isAvailable() {
        return !breaker.isOpen();
    }

    /**
     * The number of Redis calls that failed or timed out since the limiter was built: a call that
     * carried several requests counts once, and a request that timed out before it was sent counts
     * none, since no call was made for it (it opens the circuit breaker all the same).
     */
    public long failedCalls() {
        return breaker.failures();
    }

    /** The number of decisions made without Redis, by the {@link FailureMode}, since the limiter was built. */
    public long fallbackDecisions() {
        return breaker.fallbacks();
    }

    /** The number of Redis calls the local deny cache saved since the limiter was built. */
    public long savedCalls() {
        return denyCache == null ? 0 : denyCache.saved();
    }

    /** The message of the latest failure, or an empty string if Redis never failed. */
    public String lastFailure() {
        return breaker.lastError();
    }

    /** Closes the connection if this limiter opened it from a client; a given or shared connection stays open. */
    @Override
    public void close() {
        if (sharedConnection) {
            return;
        }
        try {
            connection.close();
        } catch (Exception e) {
            throw new IllegalStateException("could not close the Redis connection", e);
        }
    }

    /** The script's reply, or null when Redis could not decide (the coalescer tells the breaker why). */
    private Reply call(String key, String op, long permits, long maxWaitMicros, long nowMicros) {
        if (!breaker.allow()) {
            return null;
        }
        try {
            return coalescer.decide(keys.key(key),
                    new LuaPolicy.Request(redisTime ? "" : Long.toString(nowMicros), op, permits, maxWaitMicros));
        } catch (RedisUnavailableException e) {
            if (failureMode == FailureMode.CLOSED) {
                // this call's own failure, with its cause: the breaker may well be closed still
                breaker.fellBack();
                unavailable(e);
            }
            return null;
        }
    }

    private interface Fallback {
        Decision decide(RateLimiter local) throws InterruptedException;
    }

    /** The decision of the failure mode; {@code permits} is 0 for a peek. */
    private Decision fallback(long permits, Fallback localDecision) {
        breaker.fellBack();
        switch (failureMode) {
            case OPEN:
                // the figures of a fresh key that admitted the request: nothing is known, and nothing was counted
                return permits == 0 ? freshPeek : permits == 1 ? freshOne : fresh(permits);
            case LOCAL:
                try {
                    return localDecision.decide(local);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return new Decision(false, 0, smallestCapacity, 0, 0);
                }
            default:
                unavailable(null);
                throw new AssertionError("unreachable");
        }
    }

    /**
     * A fresh key's decision for {@code permits}, with Redis's rounding. Serialized, since the
     * calls share one key, which each leaves fresh again; only requests of several permits,
     * while Redis cannot decide, come here.
     */
    private Decision fresh(long permits) {
        synchronized (fresh) {
            Decision decision = fresh.tryAcquire(FRESH_KEY, permits);
            fresh.reset(FRESH_KEY);
            return roundedUpToMicros(decision);
        }
    }

    /** As Redis reports times: whole microseconds, waits rounded up. */
    private static Decision roundedUpToMicros(Decision d) {
        return new Decision(d.allowed(), d.remaining(), d.limit(), 1000 * microsUp(d.retryAfterNanos()),
                1000 * microsUp(d.resetAfterNanos()));
    }

    /**
     * Redis reports a token's wait in whole µs, rounded up, so the wait {@link #acquire} may make is
     * rounded up alike, as {@link #reserve} rounds the leaky bucket's {@code maxWait}: an admitted
     * wait then ends less than a µs past {@code maxWait} at most.
     */
    @Override
    protected long waitable(long leftNanos) {
        return leftNanos > Long.MAX_VALUE - 1000 ? Long.MAX_VALUE : 1000 * microsUp(leftNanos);
    }

    /** {@code nanos} in whole microseconds, rounded up. */
    private static long microsUp(long nanos) {
        return -Math.floorDiv(-nanos, 1000);
    }

    private void unavailable(RuntimeException cause) {
        if (failureMode == FailureMode.CLOSED) {
            throw new RedisUnavailableException("Redis cannot decide (failure mode CLOSED): "
                    + (cause != null ? cause.getMessage() : "circuit breaker open after " + breaker.lastError()), cause);
        }
    }

    private void check(String key, long permits) {
        if (key == null || permits <= 0 || permits > smallestCapacity || key.isBlank()) {
            lua.policy().check(key, permits);
        }
    }

    /**
     * Builds a {@link RedisRateLimiter}. Not thread-safe; the limiter it builds is.
     */
    public static final class Builder {
        private RedisClient client;
        private RedisClusterClient clusterClient;
        private StatefulRedisConnection<String, String> connection;
        private StatefulRedisClusterConnection<String, String> clusterConnection;
        private SharedRedisConnection shared;
        private Policy policy;
        private Algorithm algorithm = Algorithm.TOKEN_BUCKET;
        private final List<Limit> limits = new ArrayList<>();
        private String keyPrefix = "ratelimit:";
        private static final Duration MAX_WAIT = Duration.ofDays(365);

        private Duration commandTimeout = Duration.ofMillis(100);
        private Duration circuitBreakerWait = Duration.ofSeconds(1);
        private FailureMode failureMode = FailureMode.OPEN;
        private boolean denyCache = true;
        private long denyCacheSize = 100_000;
        private Ticker ticker;
        private Sleeper sleeper = Sleeper.system();

        private Builder() {
        }

        /** Connects to a standalone Redis (or Sentinel) through {@code client}; the limiter owns that connection. */
        public Builder client(RedisClient client) {
            clearConnection();
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /** Connects to a Redis Cluster through {@code client}; the limiter owns that connection. */
        public Builder client(RedisClusterClient client) {
            clearConnection();
            this.clusterClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /** Uses an open connection with {@link StringCodec#UTF8}, which the limiter never closes. */
        public Builder connection(StatefulRedisConnection<String, String> connection) {
            clearConnection();
            this.connection = Objects.requireNonNull(connection, "connection");
            return this;
        }

        /** Uses an open cluster connection with {@link StringCodec#UTF8}, which the limiter never closes. */
        public Builder clusterConnection(StatefulRedisClusterConnection<String, String> connection) {
            clearConnection();
            this.clusterConnection = Objects.requireNonNull(connection, "connection");
            return this;
        }

        /**
         * Uses a connection shared with other limiters, which the limiter never closes. If it is not
         * open yet, {@link #build()} waits for it at most the command timeout, then behaves as when
         * connecting through a client fails.
         */
        public Builder connection(SharedRedisConnection connection) {
            clearConnection();
            this.shared = Objects.requireNonNull(connection, "connection");
            return this;
        }

        /** Sets the whole policy, replacing any algorithm and limits set one by one. */
        public Builder policy(Policy policy) {
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Sets the algorithm; {@link Algorithm#TOKEN_BUCKET} by default. */
        public Builder algorithm(Algorithm algorithm) {
            this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
            return this;
        }

        /** Adds a limit; a request must satisfy every limit added. */
        public Builder limit(Limit limit) {
            limits.add(Objects.requireNonNull(limit, "limit"));
            return this;
        }

        /** Adds several limits. */
        public Builder limits(List<Limit> limits) {
            Objects.requireNonNull(limits, "limits").forEach(this::limit);
            return this;
        }

        /**
         * Sets the text every key starts with; {@code "ratelimit:"} by default. Limiters with
         * different policies never share state even under one prefix.
         *
         * @throws IllegalArgumentException if it contains '{' or '}', which would change the hash tag
         */
        public Builder keyPrefix(String keyPrefix) {
            this.keyPrefix = KeyLayout.checkPrefix(keyPrefix);
            return this;
        }

        /**
         * Sets how long one decision may wait for Redis; 100 ms by default.
         *
         * @throws IllegalArgumentException if not positive, or longer than 365 days
         */
        public Builder commandTimeout(Duration timeout) {
            this.commandTimeout = positive(timeout, "commandTimeout");
            return this;
        }

        /**
         * Sets how long after a failure the limiter decides without asking Redis, before one call
         * probes it again; 1 s by default.
         *
         * @throws IllegalArgumentException if not positive, or longer than 365 days
         */
        public Builder circuitBreakerWait(Duration wait) {
            this.circuitBreakerWait = positive(wait, "circuitBreakerWait");
            return this;
        }

        /** Sets what happens while Redis cannot decide; {@link FailureMode#OPEN} by default. */
        public Builder failureMode(FailureMode failureMode) {
            this.failureMode = Objects.requireNonNull(failureMode, "failureMode");
            return this;
        }

        /**
         * Sets whether this node denies a single permit locally while an earlier Redis denial of
         * it still holds; true by default. It never admits anything Redis would deny.
         */
        public Builder localDenyCache(boolean enabled) {
            this.denyCache = enabled;
            return this;
        }

        /** Sets how many keys the local deny cache holds at most; 100,000 by default. */
        public Builder localDenyCacheSize(long maxKeys) {
            if (maxKeys <= 0) {
                throw new IllegalArgumentException("localDenyCacheSize must be positive: " + maxKeys);
            }
            this.denyCacheSize = maxKeys;
            return this;
        }

        /**
         * For tests only: passes this ticker's time (floored to microseconds) to the scripts instead
         * of Redis's {@code TIME}, so tests can advance time by hand. Every node must then share it.
         * Its readings must stay within ±2<sup>51</sup> µs.
         */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** Sets how {@link RedisRateLimiter#acquire} waits; {@link Sleeper#system()} by default. */
        public Builder sleeper(Sleeper sleeper) {
            this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
            return this;
        }

        /**
         * Builds the limiter, connecting first when given a client.
         *
         * <p>If that connection fails, a limiter in {@link FailureMode#CLOSED} is refused. In
         * {@link FailureMode#OPEN} and {@link FailureMode#LOCAL} the limiter is built anyway, with a
         * warning and its circuit breaker open: it decides by its failure mode and tries to connect
         * on each probe, so it starts using Redis as soon as Redis answers.
         *
         * @throws IllegalArgumentException  if no limit was added, or a limit cannot be kept exact in
         *                                   Redis (the README's "Supported bounds" lists them)
         * @throws IllegalStateException     if no client or connection was given
         * @throws RedisUnavailableException in {@link FailureMode#CLOSED}, if connecting through the
         *                                   client failed
         */
        public RedisRateLimiter build() {
            LuaPolicy lua = LuaPolicy.of(policy != null ? policy : new Policy(algorithm, limits));
            if (connection != null) {
                return new RedisRateLimiter(this, lua, RedisConnection.given(
                        new RedisConnection.Commands(connection), false));
            }
            if (clusterConnection != null) {
                return new RedisRateLimiter(this, lua, RedisConnection.given(
                        new RedisConnection.Commands(clusterConnection), true));
            }
            if (shared != null) {
                RedisRateLimiter limiter = new RedisRateLimiter(this, lua, shared.connection());
                try {
                    shared.open(commandTimeout);
                } catch (RedisUnavailableException e) {
                    // An attempt still running is picked up by a later probe; CLOSED refuses, as for a client.
                    if (failureMode == FailureMode.CLOSED) {
                        throw e;
                    }
                    limiter.breaker.failed(e);
                }
                return limiter;
            }
            RedisConnection owned;
            if (client != null) {
                owned = RedisConnection.owned(client);
            } else if (clusterClient != null) {
                owned = RedisConnection.owned(clusterClient);
            } else {
                throw new IllegalStateException("a Redis client or connection is required: call client(...) or connection(...)");
            }
            try {
                owned.connect();
            } catch (RedisUnavailableException e) {
                if (failureMode == FailureMode.CLOSED) {
                    // An interrupted wait leaves the attempt running: closed, it closes what it opens.
                    try {
                        owned.close();
                    } catch (Exception closing) {
                        e.addSuppressed(closing);
                    }
                    throw e;
                }
                RedisRateLimiter limiter = withOwned(lua, owned);
                limiter.breaker.failed(e); // logs the warning; the first probe comes after circuitBreakerWait
                return limiter;
            }
            return withOwned(lua, owned);
        }

        /** The limiter on a connection it opened, which is closed again if the limiter cannot be made. */
        private RedisRateLimiter withOwned(LuaPolicy lua, RedisConnection owned) {
            try {
                return new RedisRateLimiter(this, lua, owned);
            } catch (RuntimeException | Error e) {
                try {
                    owned.close();
                } catch (Exception closing) {
                    e.addSuppressed(closing);
                }
                throw e;
            }
        }

        private void clearConnection() {
            client = null;
            clusterClient = null;
            connection = null;
            clusterConnection = null;
            shared = null;
        }

        /**
         * A wait the limiter keeps in nanoseconds and adds to {@link System#nanoTime()}: a year at
         * most, as core's longest period, so that neither the conversion nor that sum overflows.
         */
        private static Duration positive(Duration duration, String name) {
            Objects.requireNonNull(duration, name);
            if (duration.isNegative() || duration.isZero() || duration.compareTo(MAX_WAIT) > 0) {
                throw new IllegalArgumentException(name + " must be positive and at most 365d: " + duration);
            }
            return duration;
        }
    }
}
