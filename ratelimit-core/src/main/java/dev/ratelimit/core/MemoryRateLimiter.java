package dev.ratelimit.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * The in-memory {@link RateLimiter}: per-key state in a Caffeine cache, decisions by a {@link Strategy}.
 *
 * <p>The cache is bounded by {@code maxKeys} and expires a key once it has been idle for
 * {@link Strategy#idleNanos()}, by which time its state equals a fresh one; so an idle client costs
 * nothing and dropping it never changes a decision. Caffeine reads the same ticker, and each
 * request reads the time <em>before</em> looking its key up: the lookup then refreshes the key's
 * access time to no earlier than the time the decision uses, so a key cannot expire while a
 * decision made from it is still inside its idle window. Caffeine's time never goes back (see
 * {@link CacheClock}): after a ticker's step back, idleness counts from the highest reading.
 *
 * <p>Caffeine skips refreshing an access time that is less than a second old when the expiry is
 * longer than a second, to spare writes; so a key's recorded access may lag by up to
 * {@link #ACCESS_TOLERANCE_NANOS}, and the expiry adds that much. Without it a refilling bucket
 * could expire early and come back full: the differential test against Bucket4j caught exactly that.
 *
 * <p>Three choices keep Caffeine off the hot path: it reads time from {@link CacheClock}, which the
 * requests feed, instead of calling the ticker a second time; its maintenance (draining the
 * buffer of recorded reads, evicting) runs on the calling thread, amortised over many requests,
 * instead of waking a ForkJoinPool worker, which cost more than the decision itself; and accesses
 * to a key under a single limit (a token bucket's cell, one window) are recorded only every
 * {@link #RECORD_EVERY_NANOS} (see {@link Marked}).
 * Each adds its bounded lag to the expiry, so a key still expires only once it is full again.
 */
final class MemoryRateLimiter extends AbstractRateLimiter {

    /** Caffeine's {@code EXPIRE_TOLERANCE}: how stale a recorded access time may be. */
    static final long ACCESS_TOLERANCE_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** How often an access to a {@link Marked} state is recorded in Caffeine: 256 marks, about 268 ms. */
    static final int RECORD_EVERY = 256;
    static final long RECORD_EVERY_NANOS = (long) RECORD_EVERY << Marked.SHIFT;

    /** How long past its idle window a key is kept: the sum of every bounded lag in Caffeine's view. */
    static final long EXPIRY_SLACK_NANOS =
            ACCESS_TOLERANCE_NANOS + CacheClock.STEP_NANOS + RECORD_EVERY_NANOS;

    /** Sampling needs marks less than 2^31 units apart: only for keys that expire well within that. */
    private static final long SAMPLING_HORIZON_NANOS = (1L << 30) << Marked.SHIFT;

    private final Strategy strategy;
    private final Cache<String, Object> states;
    private final CacheClock clock;
    private final long maxBackNanos;
    private final boolean sampled;
    private final long smallestCapacity;

    MemoryRateLimiter(Policy policy, Ticker ticker, Sleeper sleeper, long maxKeys) {
        this(policy, ticker, sleeper, maxKeys, UnaryOperator.identity());
    }

    /** {@code wrap} lets a test stop a decision between its lookup and the strategy's work. */
    MemoryRateLimiter(Policy policy, Ticker ticker, Sleeper sleeper, long maxKeys, UnaryOperator<Strategy> wrap) {
        super(policy, ticker, sleeper);
        this.strategy = wrap.apply(switch (policy.algorithm()) {
            case TOKEN_BUCKET -> new TokenBucket(policy);
            case FIXED_WINDOW -> new FixedWindow(policy);
            case SLIDING_WINDOW_LOG -> new SlidingWindowLog(policy);
            case SLIDING_WINDOW_COUNTER -> new SlidingWindowCounter(policy);
            case LEAKY_BUCKET -> new LeakyBucket(policy);
        });
        this.smallestCapacity = policy.limits().stream().mapToLong(Limit::capacity).min().orElseThrow();
        this.clock = new CacheClock(ticker.read());
        this.maxBackNanos = strategy.maxBackNanos();
        long expiry = Exact.capExpiry(Exact.addSat(strategy.idleNanos(), EXPIRY_SLACK_NANOS));
        this.sampled = expiry < SAMPLING_HORIZON_NANOS;
        this.states = Caffeine.newBuilder()
                .maximumSize(maxKeys)
                .expireAfterAccess(expiry, TimeUnit.NANOSECONDS)
                .ticker(clock)
                .executor(Runnable::run)
                // Caffeine calls it inside the eviction, before the key can be found without the
                // state: see tryAcquire.
                .evictionListener((String key, Object state, RemovalCause cause) -> strategy.retire(state))
                .build();
    }

    /**
     * Between a lookup and its decision the cache may evict the state (a lookup that passed the
     * expiry check an instant before another request's later clock failed it, or a thread held up
     * that long) and another request put a fresh one in its place; permits taken from the old state
     * would then count nowhere, and the fresh one would admit them again. So the cache's eviction
     * listener {@linkplain Strategy#retire retires} each state it evicts, and a decision that took
     * permits from a retired state returns {@link Strategy#RETIRED}; it is then made again on the
     * key's current state. The listener runs inside the eviction, before the key can be found
     * without the state, and the strategy reads the mark after the write that took the permits: so
     * a decision either sees the mark, or wrote before the listener ran. The second loses the
     * permits in one interleaving only, which stays open: an eviction whose expiry test read the
     * state's access time just before this request's lookup refreshed it, and whose listener ran
     * just after this decision read the mark. Any later expiry comes once the idle window has passed
     * since this lookup, when what the decision took has refilled anyway. A {@link #reset} may race
     * too, and lose the decision's permits, as it loses the state's.
     */
    @Override
    public Decision tryAcquire(String key, long permits) {
        check(key, permits);
        long now = now();
        Decision decision = strategy.tryAcquire(stateOf(key, now), now, permits);
        // No loop, no second Decision and nothing else kept past the decision: C2 proves the
        // comparison false for the fresh record, so the call below is never compiled in, but its
        // arguments stay live across the decision, and each one grew the compiled method. It
        // must stay under C2's InlineSmallCode (2,500 bytes) to inline into its caller and never
        // allocate its Decision: the sliding log's came to 2,496 bytes on JDK 17 (-XX:+LogCompilation),
        // 2,560 with `now` kept.
        return decision != Strategy.RETIRED ? decision : decideAgain(key, permits);
    }

    /**
     * Decides on the key's current state until the decision is made on one the cache still holds;
     * at a new reading, so that the first decision's time need not be kept (see tryAcquire).
     */
    private Decision decideAgain(String key, long permits) {
        long now = now();
        Decision decision;
        do {
            decision = strategy.tryAcquire(stateOf(key, now), now, permits);
        } while (decision == Strategy.RETIRED);
        return decision;
    }

    @Override
    public Decision peek(String key) {
        Policy.checkKey(key);
        long now = now();
        // Quietly: a peek must not keep an idle key alive, or its state could outlive its idle window.
        Object state = states.policy().getIfPresentQuietly(key);
        return strategy.peek(state != null ? state : strategy.newState(now), now);
    }

    @Override
    protected Reservation reserve(String key, long permits, long maxWaitNanos) {
        long now = now();
        Reservation reservation;
        do {
            reservation = strategy.reserve(stateOf(key, now), now, permits, maxWaitNanos);
        } while (reservation != null && reservation.decision() == Strategy.RETIRED); // as in tryAcquire
        return reservation;
    }

    @Override
    public void reset(String key) {
        Policy.checkKey(key);
        states.invalidate(key);
    }

    /** The number of keys tracked now; for tests and metrics, approximate under concurrency. */
    long trackedKeys() {
        now();
        states.cleanUp();
        return states.estimatedSize();
    }

    /**
     * Reads the time once per request and lets Caffeine see it before the lookup; a reading far
     * behind the latest one is decided as the strategy's {@link Strategy#maxBackNanos()} behind it.
     */
    private long now() {
        return clock.observe(ticker().read(), maxBackNanos);
    }

    /**
     * The key's state, created full if absent. A {@link Marked} state is read quietly unless its
     * access is due to be recorded; so its recorded access trails the real one by at most
     * {@link #RECORD_EVERY_NANOS}, which the expiry's slack covers.
     */
    private Object stateOf(String key, long now) {
        if (sampled) {
            Object quiet = states.policy().getIfPresentQuietly(key);
            if (quiet instanceof Marked marked && !marked.due(now, RECORD_EVERY)) {
                return quiet;
            }
        }
        Object state = states.getIfPresent(key);
        if (state == null) {
            Policy.checkKey(key); // before the key is stored: see check()
            state = states.asMap().computeIfAbsent(key, k -> strategy.newState(now));
        }
        return state;
    }

    /**
     * The fast path checks only what it must; the policy builds the message when it fails. A blank
     * key is refused by {@link #stateOf} when it is not found, before it could be stored, so a key
     * found needs no scan: that keeps {@code isBlank}'s loop out of the compiled hot path, whose
     * size decides whether it inlines into the caller and its {@link Decision} is never allocated.
     */
    private void check(String key, long permits) {
        // Two branches, not three: C2 compiles each branch never taken into a deoptimization
        // stub. As unsigned numbers, permits - 1 < smallestCapacity exactly when 0 < permits <= smallestCapacity.
        if (key == null || Long.compareUnsigned(permits - 1, smallestCapacity) >= 0) {
            policy().check(key, permits);
        }
    }

}
