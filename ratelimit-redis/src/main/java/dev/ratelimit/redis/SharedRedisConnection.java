package dev.ratelimit.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import java.time.Duration;
import java.util.Objects;

/**
 * One Lettuce connection that many limiters share, as Lettuce recommends: an application with a
 * limiter per rule and tier then holds one connection to Redis, not one per limiter. It is opened
 * on first need and, while Redis is unreachable, on the limiters' circuit-breaker probes; once
 * open, Lettuce reconnects it by itself after outages.
 *
 * <p>Limiters built on it ({@link RedisRateLimiter.Builder#connection(SharedRedisConnection)})
 * never close it; close it after them. Thread-safe.
 */
public final class SharedRedisConnection implements AutoCloseable {

    private static final Duration MAX_TIMEOUT = Duration.ofDays(365);

    private final RedisConnection connection;

    private SharedRedisConnection(RedisConnection connection) {
        this.connection = connection;
    }

    /** A connection to a standalone Redis (or one found through Sentinel) through {@code client}. */
    public static SharedRedisConnection of(RedisClient client) {
        return new SharedRedisConnection(RedisConnection.owned(Objects.requireNonNull(client, "client")));
    }

    /** A connection to a Redis Cluster through {@code client}. */
    public static SharedRedisConnection of(RedisClusterClient client) {
        return new SharedRedisConnection(RedisConnection.owned(Objects.requireNonNull(client, "client")));
    }

    /**
     * Connects now unless already connected, waiting for the attempt's outcome (Lettuce's connect
     * timeout bounds it).
     *
     * @throws RedisUnavailableException if Redis could not be reached; a later call tries again
     */
    public void connect() {
        connection.connect();
    }

    /** Whether the connection has been opened; Lettuce may be reconnecting it after an outage. */
    public boolean isOpen() {
        return connection.isOpen();
    }

    /** Closes the connection, now or when a running attempt ends. Limiters built on it stop reaching Redis. */
    @Override
    public void close() {
        try {
            connection.close();
        } catch (Exception e) {
            throw new IllegalStateException("could not close the Redis connection", e);
        }
    }

    RedisConnection connection() {
        return connection;
    }

    /**
     * Opens the connection unless open, waiting at most {@code timeout}: for a caller that must
     * not wait out Lettuce's connect timeout, such as a health check while Redis is unreachable.
     * A zero timeout starts an attempt without waiting for it.
     *
     * @throws NullPointerException      if {@code timeout} is null
     * @throws IllegalArgumentException  if {@code timeout} is negative or longer than 365 days
     * @throws RedisUnavailableException if not open by then; an attempt still running is left to
     *                                   finish and is picked up by the next call
     */
    public void open(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        // a year at most, as the builder's durations: its nanoseconds added to System.nanoTime() cannot overflow
        if (timeout.isNegative() || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new IllegalArgumentException("timeout must not be negative and at most 365d: " + timeout);
        }
        connection.commands(System.nanoTime() + timeout.toNanos());
    }
}
