package dev.ratelimit.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.CommandOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one limiter's script with {@code EVALSHA}, for one key or several, and deletes keys for
 * {@code reset}.
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
     * Runs the script and waits for its reply.
     *
     * @throws RedisUnavailableException if Redis failed or did not answer in time
     */
    long[] run(String[] keys, String[] args) {
        long deadline = System.nanoTime() + timeoutNanos;
        return await(send(keys, args, deadline), deadline);
    }

    /**
     * Sends the script, and {@code EVAL} after {@code NOSCRIPT}; the future fails with Redis's error
     * itself. Connecting first, if the limiter is not connected yet, waits until {@code deadline}
     * at most, and only a thread that may wait calls this then: Lettuce's event loop never does,
     * since it has answered a call, so the connection is open.
     *
     * @throws RedisUnavailableException if not connected by {@code deadline}
     */
    CompletableFuture<long[]> send(String[] keys, String[] args, long deadline) {
        StatefulConnection<String, String> open = connection.commands(deadline).connection();
        return dispatch(open, CommandType.EVALSHA, scriptArgs(sha, keys, args))
                .exceptionallyCompose(e -> {
                    Throwable cause = unwrap(e);
                    return cause instanceof RedisNoScriptException
                            ? dispatch(open, CommandType.EVAL, scriptArgs(script, keys, args))
                            : CompletableFuture.failedFuture(cause);
                });
    }

    /** Sends one call as an {@link Once}, as Lettuce's own async dispatch does for a command. */
    private static CompletableFuture<long[]> dispatch(StatefulConnection<String, String> open, CommandType type,
                                                      CommandArgs<String, String> args) {
        AsyncCommand<String, String, long[]> command = new AsyncCommand<>(new Once(type, args));
        // Lettuce may wrap what it writes, and hands back what it wrote; a wrapper completes ours
        return open.dispatch(command) instanceof AsyncCommand<String, String, long[]> written ? written : command;
    }

    /** The failure itself, out of the {@link CompletionException} a dependent future wraps it in. */
    static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    /** The timeout this runner's calls have. */
    long timeoutNanos() {
        return timeoutNanos;
    }

    /**
     * EVALSHA's or EVAL's arguments, as Lettuce's own evalsha builds them: keys added as keys, so that
     * a cluster connection routes the command by the first one.
     *
     * <p>The arguments are ASCII, and so are keys unless a client's text is not. Lettuce encodes a
     * key or value of {@link StringCodec#UTF8} through a temporary buffer of its own, since its size
     * cannot be known in advance, on the connection's event-loop thread, which a profile under 64
     * callers showed to be the client's busiest; {@link StringCodec#ASCII} writes straight into the
     * command's buffer, with the same bytes for ASCII text.
     */
    private static CommandArgs<String, String> scriptArgs(String shaOrScript, String[] keys, String[] args) {
        return new CommandArgs<>(codec(keys)).add(shaOrScript).add(keys.length).addKeys(keys).addValues(args);
    }

    /** The codec for {@code keys}: {@link StringCodec#ASCII} when it writes the same bytes (see {@link #scriptArgs}). */
    private static StringCodec codec(String[] keys) {
        return ascii(keys) ? StringCodec.ASCII : StringCodec.UTF8;
    }

    private static boolean ascii(String[] texts) {
        for (String text : texts) {
            for (int i = 0; i < text.length(); i++) {
                if (text.charAt(i) >= 0x80) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * A script call, or reset's {@code DEL}, that Redis runs once at most. When a connection
     * drops, Lettuce (at-least-once, its default) sends again, on the next connection, every
     * command that had no reply yet; for a script that may already have run, that decides twice,
     * taking the permits twice, and a {@code DEL} sent again wipes the permits taken since it ran.
     * Its {@code replayFilter} does not help: in 6.8 it spares commands written while disconnected,
     * not those already sent. So the second time Lettuce writes this command, unless the first
     * send was answered with a cluster redirection ({@code MOVED}, {@code ASK}: not run there), it
     * writes {@code PING} in its place, which keeps replies in step, and fails: the limiter then
     * counts a failed call and decides by its {@link FailureMode}.
     */
    static final class Once extends Command<String, String, long[]> {
        private static final byte[] PING = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);

        private volatile boolean sent; // written and read on event-loop threads, one write at a time

        Once(CommandType type, CommandArgs<String, String> args) {
            super(type, new Longs(), args);
        }

        @Override
        public void encode(ByteBuf buf) {
            Longs reply = (Longs) getOutput();
            if (sent && !reply.redirected) {
                reply.refuse();
                buf.writeBytes(PING);
                return;
            }
            sent = true;
            reply.redirected = false;
            super.encode(buf);
        }
    }

    /**
     * A script's reply, a flat array of integers, read straight into a long[]: Lettuce's MULTI
     * output would build a list of boxed Longs only for {@link Reply} to unbox; or {@code DEL}'s,
     * a bare integer, read as an array of one. Anything else in the reply makes Lettuce fail the
     * command (it catches what an output throws).
     */
    static final class Longs extends CommandOutput<String, String, long[]> {
        private int next;
        /** Whether the latest reply sent the call to another node; see {@link Once}. */
        private volatile boolean redirected;
        private volatile boolean refused;

        Longs() {
            super(StringCodec.UTF8, null);
        }

        /** Fails the call, which was not sent again; the PING's reply that answers in its place is ignored. */
        void refuse() {
            refused = true;
            setError("the connection to Redis dropped before the reply came; the command is not sent again,"
                    + " since it may have run");
        }

        @Override
        public void setError(ByteBuffer error) {
            super.setError(error);
            String text = getError();
            redirected = text != null && (text.startsWith("MOVED ") || text.startsWith("ASK "));
        }

        @Override
        public void set(ByteBuffer bytes) {
            if (!refused) {
                super.set(bytes);
            }
        }

        @Override
        public void multi(int count) {
            if (output != null) {
                throw new IllegalStateException("a script reply holds no nested array");
            }
            output = new long[count];
        }

        @Override
        public void set(long integer) {
            if (output == null) {
                output = new long[] {integer}; // no array came first: a bare integer
                next = 1;
                return;
            }
            output[next++] = integer;
        }
    }

    /**
     * Deletes {@code keys}, which share one slot, sent as an {@link Once} as the scripts are: a
     * {@code DEL} sent again after a reconnect would delete the permits taken since it ran. Its
     * keys are added as keys, so that a cluster connection routes it by the first one.
     *
     * @throws RedisUnavailableException if Redis failed, the connection dropped before the reply,
     *                                   or no reply came in time
     */
    void delete(String[] keys) {
        long deadline = System.nanoTime() + timeoutNanos;
        StatefulConnection<String, String> open = connection.commands(deadline).connection();
        await(dispatch(open, CommandType.DEL, new CommandArgs<>(codec(keys)).addKeys(keys)), deadline);
    }

    /**
     * Waits for {@code future} until {@code deadline}, and cancels it on a timeout.
     *
     * <p>An interruption does not end the wait: it is no verdict on Redis, and the call may well
     * have taken its permits there, so giving up would leave the decision to the failure mode (in
     * {@link FailureMode#OPEN}, an admission however far over the limit the key is). The wait is
     * bounded by the command timeout anyway; the flag is set again when it ends.
     *
     * @throws RedisUnavailableException if it failed or did not complete in time
     */
    <T> T await(Future<T> future, long deadline) {
        try {
            return getUninterruptibly(future, deadline);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RedisUnavailableException unavailable) {
                throw unavailable;
            }
            throw new RedisUnavailableException("Redis failed: " + cause, cause);
        } catch (TimeoutException e) {
            future.cancel(false);
            throw timedOut(e);
        }
    }

    /** {@code future}'s value, waited for until {@code deadline} through interruptions, whose flag is then set again. */
    static <T> T getUninterruptibly(Future<T> future, long deadline) throws ExecutionException, TimeoutException {
        boolean interrupted = false;
        try {
            for (;;) {
                try {
                    return future.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true; // the flag is clear now, so the next get waits
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    RedisUnavailableException timedOut(Exception cause) {
        return new RedisUnavailableException("Redis did not answer within " + timeoutNanos / 1_000_000 + " ms", cause);
    }
}
