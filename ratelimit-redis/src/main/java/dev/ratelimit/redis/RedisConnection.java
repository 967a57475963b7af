package dev.ratelimit.redis;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.StringCodec;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The connection a limiter sends its commands on, which may not be open yet: a limiter built in
 * {@link FailureMode#OPEN} or {@link FailureMode#LOCAL} while Redis is unreachable connects later,
 * on the circuit breaker's probes. Once open, Lettuce reconnects it by itself after outages.
 *
 * <p>A connection attempt runs on its own daemon thread, so a probe waits for it no longer than
 * its deadline; an attempt still running is awaited again by the next probe rather than started
 * twice. Attempts are serialized by this object's monitor; the open connection is published
 * through the volatile {@code commands}, read without locking on every call.
 */
final class RedisConnection implements AutoCloseable {

    /**
     * What a limiter sends on: the Lettuce connection, to dispatch its scripts and deletes as
     * commands of its own (see {@link ScriptRunner}).
     */
    record Commands(StatefulConnection<String, String> connection) {
    }

    /** A connection just opened, and whether the limiter owns it (closes it on close). */
    record Opened(AutoCloseable connection, Commands commands) {
    }

    private final Supplier<Opened> opener;
    private final boolean owned;
    private final boolean cluster;
    private volatile Commands commands;
    private AutoCloseable connection;                 // guarded by this
    private CompletableFuture<Opened> attempt;        // guarded by this
    private boolean closed;                           // guarded by this

    private RedisConnection(Supplier<Opened> opener, boolean owned, boolean cluster) {
        this.opener = opener;
        this.owned = owned;
        this.cluster = cluster;
    }

    /** A connection the caller opened and keeps owning; {@code cluster} says whether it is to a Redis Cluster. */
    static RedisConnection given(Commands commands, boolean cluster) {
        RedisConnection c = new RedisConnection(null, false, cluster);
        c.commands = commands;
        return c;
    }

    /** A connection to a standalone Redis (or one found through Sentinel) opened and closed by this object. */
    static RedisConnection owned(RedisClient client) {
        return new RedisConnection(opener(client), true, false);
    }

    /** A connection to a Redis Cluster opened and closed by this object. */
    static RedisConnection owned(RedisClusterClient client) {
        return new RedisConnection(opener(client), true, true);
    }

    private static Supplier<Opened> opener(RedisClient client) {
        return () -> {
            StatefulRedisConnection<String, String> open = client.connect(StringCodec.UTF8);
            return new Opened(open, new Commands(open));
        };
    }

    private static Supplier<Opened> opener(RedisClusterClient client) {
        return () -> {
            StatefulRedisClusterConnection<String, String> open = client.connect(StringCodec.UTF8);
            return new Opened(open, new Commands(open));
        };
    }

    /**
     * Whether the connection is to a Redis Cluster, whose keys lie in many slots, so that one
     * script call cannot take several clients' keys.
     */
    boolean cluster() {
        return cluster;
    }

    /** Whether the connection has been opened (and not closed). */
    boolean isOpen() {
        return commands != null;
    }

    /**
     * Connects, waiting for the outcome of the attempt without a deadline of its own (Lettuce's
     * connect timeout bounds it).
     *
     * @throws RedisUnavailableException if the attempt failed
     */
    void connect() {
        commands(Long.MAX_VALUE);
    }

    /**
     * The commands of the open connection, connecting first if it is not open yet.
     *
     * @param deadlineNanos a {@link System#nanoTime()} reading after which to stop waiting for a
     *                      connection attempt, or {@link Long#MAX_VALUE} for none
     * @throws RedisUnavailableException if not connected by the deadline; an attempt still running
     *                                   is left to finish and is picked up by the next call
     */
    Commands commands(long deadlineNanos) {
        Commands c = commands;
        return c != null ? c : open(deadlineNanos);
    }

    private synchronized Commands open(long deadlineNanos) {
        if (commands != null) {
            return commands;
        }
        if (closed) {
            throw new RedisUnavailableException("the connection to Redis is closed", null);
        }
        if (attempt == null) {
            attempt = CompletableFuture.supplyAsync(opener, task -> {
                Thread thread = new Thread(task, "ratelimit-redis-connect");
                thread.setDaemon(true);
                thread.start();
            });
        }
        try {
            // A probe's wait goes on through an interruption, as ScriptRunner.await's does: it is no verdict on Redis.
            Opened opened = deadlineNanos == Long.MAX_VALUE ? attempt.get()
                    : ScriptRunner.getUninterruptibly(attempt, deadlineNanos);
            connection = opened.connection();
            commands = opened.commands();
            attempt = null;
            return commands;
        } catch (ExecutionException e) {
            attempt = null;
            Throwable cause = e.getCause();
            throw new RedisUnavailableException("cannot connect to Redis: " + cause.getMessage(), cause);
        } catch (TimeoutException e) {
            throw new RedisUnavailableException("still connecting to Redis", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisUnavailableException("interrupted while connecting to Redis", e);
        }
    }

    /** Closes the connection if this limiter opened it, now or when a running attempt ends. */
    @Override
    public synchronized void close() throws Exception {
        closed = true;
        // Forget the commands, so that isOpen says so and later calls fail here, named, rather
        // than on a Lettuce connection closed under them (or, when given, still working for another owner).
        commands = null;
        if (!owned) {
            return;
        }
        if (attempt != null) {
            attempt.thenAccept(opened -> {
                try {
                    opened.connection().close();
                } catch (Exception ignored) {
                    // closing a connection nobody used
                }
            });
        }
        if (connection != null) {
            connection.close();
        }
    }
}
