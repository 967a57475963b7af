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
 * <p>State per key and limit: a {@link Counter} (window start, previous, current). A ticker that
 * jumps backwards weighs the previous window fully, so it never creates permits.
 */
final class SlidingWindowCounter extends WindowStrategy<SlidingWindowCounter.Counter> {

    SlidingWindowCounter(Policy policy) {
        super(policy, 2, Counter::new, Counter[]::new);
    }

    @Override
    public Decision peek(Object state, long now) {
        // Rolling re-anchors an emptied window at now; a peek must not, or later figures would
        // depend on whether Caffeine still held this idle key when it was peeked at. So it decides on a copy.
        if (state instanceof Counter counter) {
            Counter copy;
            synchronized (counter) {
                copy = counter.copy();
            }
            return decideOne(copy, now, 1, false);
        }
        Counter[] counters = (Counter[]) state;
        Counter[] copy = new Counter[size];
        synchronized (counters) {
            for (int i = 0; i < size; i++) {
                copy[i] = counters[i].copy();
            }
        }
        return decideAll(copy, now, 1, false);
    }

    @Override
    Decision decideOne(Counter counter, long now, long permits, boolean consume) {
        boolean ok;
        long wait;
        long available;
        long reset;
        synchronized (counter) {
            counter.roll(now, firstPeriod);
            wait = counter.waitNanos(now, firstCapacity, firstPeriod, permits);
            ok = wait <= 0;
            if (ok && consume) {
                counter.current += permits;
            }
            available = counter.available(now, firstCapacity, firstPeriod);
            reset = counter.resetNanos(now, firstPeriod);
        }
        return new Decision(ok, available, firstCapacity, ok ? 0 : wait, Math.max(reset, 0));
    }

    @Override
    Decision decideAll(Counter[] counters, long now, long permits, boolean consume) {
        synchronized (counters) {
            boolean ok = true;
            long retry = 0;
            for (int i = 0; i < size; i++) {
                counters[i].roll(now, period[i]);
                long wait = counters[i].waitNanos(now, capacity[i], period[i], permits);
                if (wait > 0) {
                    ok = false;
                    retry = Math.max(retry, wait);
                }
            }
            if (ok && consume) {
                for (int i = 0; i < size; i++) {
                    counters[i].current += permits;
                }
            }
            long remaining = Long.MAX_VALUE;
            long binding = capacity[0];
            long reset = 0;
            for (int i = 0; i < size; i++) {
                long available = counters[i].available(now, capacity[i], period[i]);
                if (available < remaining) {
                    remaining = available;
                    binding = capacity[i];
                }
                reset = Math.max(reset, counters[i].resetNanos(now, period[i]));
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    /** One limit's two counts and the start of its current window; its owner's monitor guards it. */
    static final class Counter extends Marked {
        long start;
        long previous;
        long current;

        Counter(long now) {
            this.start = now;
        }

        Counter copy() {
            Counter copy = new Counter(start);
            copy.previous = previous;
            copy.current = current;
            return copy;
        }

        /** Nanoseconds into the current window, never negative: a backwards ticker reads as its start. */
        long elapsed(long now) {
            return Math.max(now - start, 0);
        }

        /**
         * Moves to the window holding {@code now}; windows skipped entirely count zero. Once both
         * counts are zero nothing remembers the old grid, so the window re-anchors at {@code now},
         * exactly as a fresh key would: that is what lets an idle key expire unnoticed.
         */
        void roll(long now, long period) {
            if (now - start >= period) {
                rollOver(now, period);
            }
        }

        /** Once a window: out of line, so that its division stays out of the inlined hot path. */
        private void rollOver(long now, long period) {
            long windows = (now - start) / period;
            previous = windows == 1 ? current : 0;
            current = 0;
            start = previous == 0 ? now : start + windows * period;
        }

        /**
         * Nanoseconds from {@code now} until {@code permits} are admitted, zero if they are now.
         * Within a window the previous count's weight falls linearly, so the first admitting instant
         * is {@code e' = period - floor(budget * period / previous)}; if the current count alone is
         * too high, the answer lies in the next window, where the current count becomes the previous one.
         */
        long waitNanos(long now, long capacity, long period, long permits) {
            // budget >= previous (>= 0) admits at any e, since previous * (p - e) <= previous * p <= budget * p;
            // answering here also keeps budget * p, which overflows for large capacities, out of
            // BigInteger, and the rest out of the inlined hot path.
            long budget = capacity - current - permits;
            return budget >= previous ? 0 : waitForBudget(now, capacity, period, permits, budget);
        }

        private long waitForBudget(long now, long capacity, long period, long permits, long budget) {
            long e = elapsed(now);
            if (budget >= 0) {
                long admitAt = Math.max(e, period - Exact.mulDivFloor(budget, period, previous));
                return admitAt - e;
            }
            // Next window: previous := current (> capacity - permits >= 0), current := 0.
            long admitAt = Math.max(0, period - Exact.mulDivFloor(capacity - permits, period, current));
            return (period - e) + admitAt;
        }

        /** Whole permits the weighted estimate leaves at {@code now}. */
        long available(long now, long capacity, long period) {
            long weighted = Exact.mulDivCeil(previous, period - elapsed(now), period);
            return Math.max(capacity - current - weighted, 0);
        }

        /** Nanoseconds until both counts have rolled out. */
        long resetNanos(long now, long period) {
            long e = elapsed(now);
            return current > 0 ? 2 * period - e : previous > 0 ? period - e : 0;
        }
    }
}
