package dev.ratelimit.core;

/**
 * {@link Algorithm#SLIDING_WINDOW_COUNTER}: the two-counter approximation of a sliding window.
 *
 * <p>Time is cut into fixed windows of {@code period}, anchored at a key's first request. With
 * {@code e} nanoseconds elapsed in the current window, the estimate is
 * {@code previous * (period - e) / period + current}: the previous window's count weighted by how
 * much of it a sliding window ending now still overlaps. A request of {@code k} is admitted when
 * {@code estimate + k <= capacity}. The comparison is made exactly, as
 * {@code previous * (period - e) <= (capacity - current - k) * period} in 128-bit arithmetic, so
 * the current fixed window alone never exceeds {@code capacity}. It assumes the previous window's
 * requests were spread evenly, so it can be wrong either way within a window, unlike the log.
 *
 * <p>State per key: a {@code long[]} of (window start, previous, current) triples, one per limit,
 * guarded by its own monitor. A ticker that jumps backwards weighs the previous window fully,
 * so it never creates permits.
 */
final class SlidingWindowCounter extends WindowStrategy<long[]> {

    SlidingWindowCounter(Policy policy) {
        super(policy, 2);
    }

    @Override
    public Object newState(long now) {
        long[] state = new long[3 * size];
        for (int i = 0; i < size; i++) {
            state[3 * i] = now;
        }
        return state;
    }

    @Override
    public Decision peek(Object state, long now) {
        long[] windows = (long[]) state;
        long[] copy;
        synchronized (windows) {
            copy = windows.clone();
        }
        // Rolling re-anchors an emptied window at now; a peek must not, or later figures would
        // depend on whether Caffeine still held this idle key when it was peeked at.
        return decide(copy, now, 1, false);
    }

    @Override
    Decision decide(long[] w, long now, long permits, boolean consume) {
        synchronized (w) {
            boolean ok = true;
            long retry = 0;
            for (int i = 0; i < size; i++) {
                roll(w, i, now);
                long wait = waitNanos(w, i, now, permits);
                if (wait > 0) {
                    ok = false;
                    retry = Math.max(retry, wait);
                }
            }
            if (ok && consume) {
                for (int i = 0; i < size; i++) {
                    w[3 * i + 2] += permits;
                }
            }
            long remaining = Long.MAX_VALUE;
            long binding = capacity[0];
            long reset = 0;
            for (int i = 0; i < size; i++) {
                long previous = w[3 * i + 1];
                long current = w[3 * i + 2];
                long e = elapsed(w, i, now);
                long weighted = Exact.mulDivCeil(previous, period[i] - e, period[i]);
                long available = Math.max(capacity[i] - current - weighted, 0);
                if (available < remaining) {
                    remaining = available;
                    binding = capacity[i];
                }
                long full = current > 0 ? 2 * period[i] - e : previous > 0 ? period[i] - e : 0;
                reset = Math.max(reset, full);
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    /** Nanoseconds into the current window, never negative: a backwards ticker reads as its start. */
    private static long elapsed(long[] w, int i, long now) {
        return Math.max(now - w[3 * i], 0);
    }

    /**
     * Moves limit {@code i} to the window holding {@code now}; windows skipped entirely count zero.
     * Once both counts are zero nothing remembers the old grid, so the window re-anchors at
     * {@code now}, exactly as a fresh key would: that is what lets an idle key expire unnoticed.
     */
    private void roll(long[] w, int i, long now) {
        long e = now - w[3 * i];
        if (e >= period[i]) {
            long windows = e / period[i];
            w[3 * i + 1] = windows == 1 ? w[3 * i + 2] : 0;
            w[3 * i + 2] = 0;
            w[3 * i] = w[3 * i + 1] == 0 ? now : w[3 * i] + windows * period[i];
        }
    }

    /**
     * Nanoseconds from {@code now} until limit {@code i} admits {@code permits}, zero if it does now.
     * Within a window the previous count's weight falls linearly, so the first admitting instant
     * is {@code e' = period - floor(budget * period / previous)}; if the current count alone is too
     * high, the answer lies in the next window, where the current count becomes the previous one.
     */
    private long waitNanos(long[] w, int i, long now, long permits) {
        long p = period[i];
        long previous = w[3 * i + 1];
        long current = w[3 * i + 2];
        long e = elapsed(w, i, now);
        long budget = capacity[i] - current - permits;
        if (budget >= 0) {
            // budget >= previous admits at any e, since previous * (p - e) <= previous * p <= budget * p;
            // answering here also keeps budget * p, which overflows for large capacities, out of BigInteger.
            if (budget >= previous) {
                return 0;
            }
            long admitAt = Math.max(e, p - Exact.mulDivFloor(budget, p, previous));
            return admitAt - e;
        }
        // Next window: previous := current (> capacity - permits >= 0), current := 0.
        long admitAt = Math.max(0, p - Exact.mulDivFloor(capacity[i] - permits, p, current));
        return (p - e) + admitAt;
    }
}
