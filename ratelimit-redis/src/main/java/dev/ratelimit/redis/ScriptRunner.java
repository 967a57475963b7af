package dev.ratelimit.redis;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisScriptingAsyncCommands;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one script with {@code EVALSHA}, one round trip per decision, within a deadline.
 *
 * <p>The digest is computed locally, so nothing is loaded up front: the first call on a node, or
 * the first after a restart or failover flushed its script cache, gets {@code NOSCRIPT} and is
 * repeated once as {@code EVAL}, which caches the script on that node again. Both attempts share
 * one deadline, as does connecting first when the limiter was built while Redis was unreachable
 * (see {@link RedisConnection}). In a cluster, Lettuce routes both by the first key, whose hash tag every key shares.
 */
final class ScriptRunner {

    private final RedisConnection connection;
    private final String script;
    private final String sha;
    private final long timeoutNanos;

    ScriptRunner(RedisConnection connection, LuaPolicy lua, long timeoutNanos) {
        this.connection = connection;
        this.script = lua.script();
        this.sha = lua.sha();
        this.timeoutNanos = timeoutNanos;
    }

    /**
     * @throws RedisUnavailableException if Redis failed, did not answer in time, or the thread was
     *                                   interrupted (whose flag is then set again)
     */
    List<Long> run(String[] keys, String[] args) {
        long deadline = System.nanoTime() + timeoutNanos;
        RedisScriptingAsyncCommands<String, String> scripting = connection.commands(deadline).scripting();
        try {
            try {
                return await(scripting.evalsha(sha, ScriptOutputType.MULTI, keys, args), deadline);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RedisNoScriptException)) {
                    throw e;
                }
                return await(scripting.eval(script, ScriptOutputType.MULTI, keys, args), deadline);
            }
        } catch (ExecutionException e) {
            throw new RedisUnavailableException("Redis failed: " + e.getCause(), e.getCause());
        }
    }

    /** Deletes {@code keys}, which share one slot. */
    void delete(String[] keys) {
        try {
            long deadline = System.nanoTime() + timeoutNanos;
            await(connection.commands(deadline).keys().del(keys), deadline);
        } catch (ExecutionException e) {
            throw new RedisUnavailableException("Redis failed: " + e.getCause(), e.getCause());
        }
    }

    private <T> T await(RedisFuture<T> future, long deadline) throws ExecutionException {
        try {
            return future.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(false);
            throw new RedisUnavailableException("Redis did not answer within " + timeoutNanos / 1_000_000 + " ms", e);
        } catch (InterruptedException e) {
            future.cancel(false);
            Thread.currentThread().interrupt();
            throw new RedisUnavailableException("interrupted while waiting for Redis", e);
        }
    }
}
