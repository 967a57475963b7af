package dev.ratelimit.redis;

import io.lettuce.core.cluster.SlotHash;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Sends one limiter's requests to Redis, those that wait together in one script call.
 *
 * <p>Under load most of a decision's cost is per call, not per key: on the client the command,
 * its write and its reply, all on Lettuce's one event-loop thread; in Redis the script's start,
 * {@code TIME}, the read and the reply. Every script decides for several keys in one call, each
 * exactly as a call of its own would (see one.lua for the flat ones, each.lua for the general
 * ones), so requests that arrive while Redis is busy share one call.
 *
 * <h2>When a request waits</h2>
 * A request is sent at once while fewer than {@link #MAX_IN_FLIGHT} of this limiter's calls are
 * on their way. Otherwise it waits in the queue, and the first of those calls to complete sends
 * everything queued (up to {@link #MAX_KEYS}) as the next call. So an idle limiter sends each
 * request alone, as soon as it comes, and a busy one holds a request back by at most the time
 * its calls in flight take. On a cluster connection the keys of one call must lie in one hash
 * slot, so each slot has a lane of its own (a queue and its count of calls in flight, which a
 * single Redis has one of), made when the slot is first asked for: a hot client's requests share
 * calls as on a single Redis, and requests for different slots never wait for each other. At most
 * {@value io.lettuce.core.cluster.SlotHash#SLOT_COUNT} lanes, about 90 bytes each, per limiter;
 * they are kept, since a limiter with clients spread over the slots soon needs them all again.
 *
 * <h2>Concurrency</h2>
 * A caller puts its request on a lock-free queue, then takes a slot by CAS on {@code inFlight}
 * and drains the queue; a completing call gives its slot back before it drains the queue again.
 * Either the caller sees the freed slot or the completion sees the request (both are volatile
 * accesses, queued before looked at, freed before drained), so no request is left queued while a
 * slot is free. A request is in one call at most: the queue hands each element to one poll.
 *
 * <h2>Failures and giving up</h2>
 * Each caller waits for its own request until its own deadline, through interruptions (see
 * {@link ScriptRunner#await}). A request given up before it was sent (a timeout) is left out of
 * its call; one given up after stays in it, and Redis may still take its permits, as for a single
 * call that timed out. A call is cancelled
 * once every request in it has been given up, which frees its slot. The circuit breaker hears of
 * each call once: its success, its failure, or its timeout when every request in it timed out;
 * so {@code failedCalls} counts calls, not the requests in them. A request given up while it
 * still waited to be sent tells the breaker itself, which opens it as a timeout does but counts
 * no failed call, since none was made. One claim on each request decides which of the two it is
 * (see {@code Call.claimed}), so a caller that gives up just as a drain takes its request into a
 * call is counted once, with that call.
 */
final class Coalescer {

    /**
     * Calls in flight before requests wait to be sent together. Few enough that a busy limiter's
     * requests share calls; enough that a request of a moderately busy one rarely waits. With 64
     * callers on one Redis (RedisComparison, 2026-12-01), 2, 4 and 8 gave the same throughput
     * within the noise, with about 20, 12 and 7 requests per call.
     */
    static final int MAX_IN_FLIGHT = 8;

    /** Keys per call at most, which bounds its ARGV (four per key) and its reply (seven numbers per key). */
    static final int MAX_KEYS = 64;

    private static final int REPLY_WIDTH = 7;

    private final ScriptRunner runner;
    private final LuaPolicy lua;
    private final CircuitBreaker breaker;
    /** On a single Redis, the one lane; null on a cluster connection. */
    private final Lane lane;
    /** On a cluster connection, each slot's lane, made on first use; null otherwise. */
    private final AtomicReferenceArray<Lane> slots;

    /**
     * @param cluster whether the connection is to a Redis Cluster, where only keys of one slot may share a call
     */
    Coalescer(ScriptRunner runner, LuaPolicy lua, CircuitBreaker breaker, boolean cluster) {
        this.runner = runner;
        this.lua = lua;
        this.breaker = breaker;
        this.lane = cluster ? null : new Lane();
        this.slots = cluster ? new AtomicReferenceArray<>(SlotHash.SLOT_COUNT) : null;
    }

    /**
     * Decides one request: the script's reply for the state at {@code key}.
     *
     * @throws RedisUnavailableException if Redis failed or did not answer within the command timeout
     *                                   (an interruption does not end the wait; see {@link ScriptRunner#await})
     */
    Reply decide(String key, LuaPolicy.Request request) {
        return (lane != null ? lane : slot(key)).decide(key, request);
    }

    private Lane slot(String key) {
        // The slot of the key's UTF-8 bytes, which Lettuce routes by and Redis checks:
        // SlotHash.getSlot(String) encodes in the default charset (US-ASCII on Java 17 under
        // LANG=C), where clients in different slots can share a lane, and so a call Redis refuses.
        int slot = SlotHash.getSlot(key.getBytes(StandardCharsets.UTF_8));
        Lane found = slots.get(slot);
        if (found == null) {
            Lane made = new Lane();
            found = slots.compareAndExchange(slot, null, made);
            if (found == null) {
                found = made;
            }
        }
        return found;
    }

    /** One key's request; {@code reply} completes with its call's whole reply, read from {@code index}. */
    private static final class Call {
        final String key;
        final LuaPolicy.Request request;
        final long deadline;
        final CompletableFuture<long[]> reply = new CompletableFuture<>();
        /**
         * Set once, by whichever comes first: a drain that takes the request into a call, or its
         * caller giving up on it while it waits in the queue. So a request given up is either in
         * a call, whose outcome the breaker hears of, or in none, and then its caller tells the
         * breaker: never both, never neither.
         */
        @SuppressWarnings("unused") // through CLAIMED, without an AtomicBoolean to allocate per request
        private volatile boolean claimed;
        int index;                 // written before the call is sent, read after its reply completes
        volatile Lane.Batch batch; // the call it went in, once sent

        private static final VarHandle CLAIMED;

        static {
            try {
                CLAIMED = MethodHandles.lookup().findVarHandle(Call.class, "claimed", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        Call(String key, LuaPolicy.Request request, long deadline) {
            this.key = key;
            this.request = request;
            this.deadline = deadline;
        }

        /** Claims the request, for a call or for being given up unsent; true if nothing had claimed it. */
        boolean claim() {
            return CLAIMED.compareAndSet(this, false, true);
        }
    }

    /** Requests whose keys may share a call, and the calls they are in: the queue and its slots in flight. */
    private final class Lane {
        private final ConcurrentLinkedQueue<Call> queue = new ConcurrentLinkedQueue<>();
        private final AtomicInteger inFlight = new AtomicInteger();

        /** One call to Redis and the requests it carries. */
        private final class Batch {
            final Call[] calls;
            final int count;
            volatile CompletableFuture<long[]> sent;
            volatile boolean abandoned;

            Batch(Call[] calls, int count) {
                this.calls = calls;
                this.count = count;
            }

            /** Cancels the call once nobody waits for it, so that its slot goes to the requests queued behind it. */
            void abandonIfGivenUp() {
                CompletableFuture<long[]> call = sent;
                if (call == null || call.isDone()) {
                    return;
                }
                for (int i = 0; i < count; i++) {
                    if (!calls[i].reply.isDone()) {
                        return;
                    }
                }
                abandoned = true;
                call.cancel(false);
            }

            void completed(long[] values, Throwable error) {
                inFlight.decrementAndGet();
                drain(); // before waking this call's callers: Redis gets the next call sooner
                if (error == null && values != null && values.length == REPLY_WIDTH * count) {
                    breaker.succeeded();
                    for (int i = 0; i < count; i++) {
                        calls[i].reply.complete(values);
                    }
                    return;
                }
                RedisUnavailableException failure = failure(error, values);
                breaker.failed(failure);
                for (int i = 0; i < count; i++) {
                    calls[i].reply.completeExceptionally(failure);
                }
            }

            private RedisUnavailableException failure(Throwable error, long[] values) {
                if (error == null) {
                    return new RedisUnavailableException("Redis answered " + (values == null ? "nothing" : values.length
                            + " numbers") + " for " + count + " keys", null);
                }
                Throwable cause = ScriptRunner.unwrap(error);
                if (cause instanceof RedisUnavailableException unavailable) {
                    return unavailable;
                }
                if (cause instanceof CancellationException && abandoned) {
                    // Given up by every caller, and a caller gives up only at its deadline.
                    return runner.timedOut((Exception) cause);
                }
                return new RedisUnavailableException("Redis failed: " + cause, cause);
            }
        }

        /** See {@link Coalescer#decide}. */
        Reply decide(String key, LuaPolicy.Request request) {
            Call call = new Call(key, request, System.nanoTime() + runner.timeoutNanos());
            queue.offer(call);
            drain();
            try {
                long[] values = runner.await(call.reply, call.deadline);
                return Reply.of(values, REPLY_WIDTH * call.index);
            } catch (RedisUnavailableException e) {
                if (call.claim()) {
                    // Timed out in the queue, behind calls that took too long: no call carries it, so
                    // the breaker hears of it from here, though as no failed call of its own.
                    breaker.timedOutUnsent(e);
                } else {
                    // In a call, which tells the breaker; if send() has not published it yet, send() checks.
                    Batch batch = call.batch;
                    if (batch != null) {
                        batch.abandonIfGivenUp();
                    }
                }
                throw e;
            }
        }

        /** Sends the queued requests while a slot is free; see the class comment for why none is left behind. */
        private void drain() {
            for (;;) {
                int taken = inFlight.get();
                if (taken >= MAX_IN_FLIGHT || queue.isEmpty()) {
                    return;
                }
                if (!inFlight.compareAndSet(taken, taken + 1)) {
                    continue;
                }
                Call[] calls = new Call[MAX_KEYS];
                int count = 0;
                Call next;
                while (count < MAX_KEYS && (next = queue.poll()) != null) {
                    if (!next.reply.isDone() && next.claim()) { // not given up while it waited
                        calls[count++] = next;
                    }
                }
                if (count == 0) {
                    inFlight.decrementAndGet();
                    continue;
                }
                send(calls, count);
            }
        }

        private void send(Call[] calls, int count) {
            Batch batch = new Batch(calls, count);
            String[] keys = new String[count];
            LuaPolicy.Request[] requests = new LuaPolicy.Request[count];
            for (int i = 0; i < count; i++) {
                keys[i] = calls[i].key;
                requests[i] = calls[i].request;
                calls[i].index = i;
            }
            CompletableFuture<long[]> sent;
            try {
                sent = runner.send(keys, lua.args(requests, 0, count), calls[0].deadline);
            } catch (RuntimeException e) {
                sent = CompletableFuture.failedFuture(e);
            }
            batch.sent = sent;
            for (int i = 0; i < count; i++) {
                calls[i].batch = batch;
            }
            // A caller that gave up before it saw its batch could not cancel the call; this does it for them.
            batch.abandonIfGivenUp();
            sent.whenComplete(batch::completed);
        }
    }
}
