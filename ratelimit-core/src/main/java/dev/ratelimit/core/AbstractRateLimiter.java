package dev.ratelimit.core;

import java.time.Duration;
import java.util.Objects;

/**
 * What every store shares: its {@link Policy} and the blocking {@link #acquire} loop.
 *
 * <p>A store (in memory, Redis) implements {@code tryAcquire}, {@code peek}, {@code reset} and
 * {@link #reserve}; this class turns them into a wait whose sleeps never end past {@code maxWait}
 * (a store whose calls take time, such as Redis, returns within {@code maxWait} and one call), honours
 * interruption, and reads time only from the store's {@link Ticker} and waits only through its
 * {@link Sleeper}, so tests can drive it by hand.
 */
public abstract class AbstractRateLimiter implements RateLimiter {

    private final Policy policy;
    private final Ticker ticker;
    private final Sleeper sleeper;

    protected AbstractRateLimiter(Policy policy, Ticker ticker, Sleeper sleeper) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    }

    /** The ticker this limiter reads time from. */
    protected final Ticker ticker() {
        return ticker;
    }

    @Override
    public final Policy policy() {
        return policy;
    }

    /**
     * For an algorithm that queues (the leaky bucket): takes the earliest slot for {@code permits}
     * that is at most {@code maxWaitNanos} away, or nothing. Returns null for algorithms that do not
     * queue; {@link #acquire} then retries {@code tryAcquire} after each denial's {@code retryAfter}.
     */
    protected abstract Reservation reserve(String key, long permits, long maxWaitNanos);

    @Override
    public final Decision acquire(String key, long permits, Duration maxWait) throws InterruptedException {
        policy.check(key, permits);
        Objects.requireNonNull(maxWait, "maxWait");
        if (maxWait.isNegative()) {
            throw new IllegalArgumentException("maxWait must not be negative: " + maxWait);
        }
        long budget = saturatedNanos(maxWait);
        long start = ticker.read();
        for (;;) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            Reservation reservation = reserve(key, permits, left(budget, start));
            if (reservation != null) {
                if (reservation.decision().allowed()) {
                    // A slot with no wait is taken: with the flag set (the caller interrupted during a
                    // store's call), the admission stands and the flag stays for the caller to see,
                    // where a sleeper would throw and the permits would be lost.
                    if (reservation.waitNanos() > 0) {
                        sleeper.sleep(reservation.waitNanos());
                    }
                } else if (Thread.interrupted()) {
                    // A store may wait inside reserve (Redis's LOCAL fallback waits in its local
                    // limiter) and can only answer a denial with the flag set: the interruption wins.
                    throw new InterruptedException();
                }
                return reservation.decision();
            }
            Decision decision = tryAcquire(key, permits);
            // Read after the call, which may take time of its own (a Redis round trip, up to its
            // command timeout): a retryAfter judged by what was left before it could sleep past
            // maxWait. So a sleep never ends past maxWait, and acquire returns within maxWait and
            // the duration of one call, the one that may begin just before maxWait ends.
            long left = left(budget, start);
            // With nothing left to wait, a denial is final whatever its retryAfter says.
            if (decision.allowed() || decision.retryAfterNanos() > waitable(left) || left == 0) {
                return decision;
            }
            // At least a nanosecond, so that the loop always moves time on and ends by maxWait.
            sleeper.sleep(Math.max(1, decision.retryAfterNanos()));
        }
    }

    /** What is left of {@code budget} nanoseconds of waiting begun at the ticker reading {@code start}. */
    private long left(long budget, long start) {
        return Math.max(0, budget - Math.max(0, ticker.read() - start));
    }

    /**
     * The longest {@code retryAfter} that a wait with {@code leftNanos} of {@code maxWait} left may
     * still sleep for: {@code leftNanos} itself for a store that reports waits in nanoseconds. A store
     * whose waits are coarser rounds up the same way, or {@code acquire} would refuse a permit that
     * comes within the store's grain of {@code maxWait}, which the in-memory limiter admits.
     */
    protected long waitable(long leftNanos) {
        return leftNanos;
    }

    private static long saturatedNanos(Duration duration) {
        try {
            return duration.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * A slot taken {@code waitNanos} from now, or a denial when {@code decision} is not allowed.
     *
     * @param waitNanos how long the caller must wait before proceeding; zero for a denial
     * @param decision  the figures at the moment of reserving
     */
    public record Reservation(long waitNanos, Decision decision) {
    }
}
