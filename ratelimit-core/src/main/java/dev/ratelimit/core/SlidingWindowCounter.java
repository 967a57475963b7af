package dev.ratelimit.core;

import java.lang.invoke.VarHandle;

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
 * <p>State per key and limit: a {@link Counter}, whose current {@link Epoch} holds the window's
 * start and both counts. A ticker that jumps backwards weighs the previous window fully, so it
 * never creates permits.
 */
final class SlidingWindowCounter extends WindowStrategy<SlidingWindowCounter.Counter> {

    SlidingWindowCounter(Policy policy) {
        super(policy, 2, Counter::new, Counter[]::new);
    }

    /**
     * Lock-free: under two threads a contended monitor cost more than the decision itself. The
     * counter's current {@link Epoch} fixes the window's start and previous count; permits are
     * CASed onto its current count. Rolling seals the old epoch's count first ({@link Counter#roll}),
     * so a racing increment either lands before the seal, and the successor's previous count
     * includes it, or fails and is retried on the successor: none is lost, which would let the next
     * window over-admit. A late thread whose time belongs to a replaced epoch decides in the newer
     * one, at an elapsed time of zero, as under the lock when it takes the lock after the roller
     * (the case of a ticker that jumps backwards). A consuming request rolls whether admitted or
     * not, which {@link #decideAll} does not, yet the figures are the same: a roll that a denial
     * keeps is one into a window still weighing a previous count, whose start is the old one plus
     * a period whenever the roll is made; a roll that empties both counts re-anchors at the
     * roller's time, but then any request of at most the capacity is admitted. A peek rolls only a
     * view it does not publish.
     */
    @Override
    Decision decideOne(Counter counter, long now, long permits, boolean consume) {
        Epoch epoch;
        long current;
        long wait;
        while (true) {
            epoch = counter.epoch;
            current = epoch.current;
            if (current < 0 || now - epoch.start >= firstPeriod) {
                if (consume) {
                    counter.roll(epoch, current, now, firstPeriod);
                    continue;
                }
                current &= ~Epoch.SEALED;
                if (now - epoch.start >= firstPeriod) {
                    epoch = epoch.next(current, now, firstPeriod);
                    current = 0;
                }
            }
            wait = epoch.waitNanos(current, now, firstCapacity, firstPeriod, permits);
            if (wait > 0 || !consume) {
                break;
            }
            if (epoch.add(current, permits)) {
                current += permits;
                break;
            }
        }
        boolean ok = wait <= 0;
        if (consume && counter.retired()) {
            return RETIRED;
        }
        long available = epoch.available(current, now, firstCapacity, firstPeriod);
        long reset = epoch.resetNanos(current, now, firstPeriod);
        return new Decision(ok, available, firstCapacity, ok ? 0 : wait, Math.max(reset, 0));
    }

    /**
     * A roll that empties both counts re-anchors the window at the roller's time, so it is stored
     * only for an admission: a denial by another limit that stored it would move this window's grid
     * to an instant no admitted request chose, and later decisions would differ from those of a key
     * that never saw the denial. A roll that keeps a previous count keeps the grid, whenever it is
     * made, so a consuming request stores it either way, as {@link #decideOne} does.
     */
    @Override
    Decision decideAll(Counter[] counters, long now, long permits, boolean consume) {
        Epoch[] epochs = new Epoch[size];
        synchronized (counters) {
            boolean ok = true;
            long retry = 0;
            for (int i = 0; i < size; i++) {
                Epoch epoch = counters[i].epoch;
                if (now - epoch.start >= period[i]) {
                    epoch = epoch.next(epoch.current, now, period[i]);
                    if (consume && epoch.previous != 0) {
                        counters[i].epoch = epoch;
                    }
                }
                epochs[i] = epoch;
                long wait = epoch.waitNanos(epoch.current, now, capacity[i], period[i], permits);
                if (wait > 0) {
                    ok = false;
                    retry = Math.max(retry, wait);
                }
            }
            if (ok && consume) {
                for (int i = 0; i < size; i++) {
                    counters[i].epoch = epochs[i];
                    epochs[i].current += permits;
                }
                if (counters[0].retired()) {
                    return RETIRED;
                }
            }
            long remaining = Long.MAX_VALUE;
            long binding = capacity[0];
            long reset = 0;
            for (int i = 0; i < size; i++) {
                Epoch epoch = epochs[i];
                long available = epoch.available(epoch.current, now, capacity[i], period[i]);
                if (available < remaining) {
                    remaining = available;
                    binding = capacity[i];
                }
                reset = Math.max(reset, epoch.resetNanos(epoch.current, now, period[i]));
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    /**
     * One limit's state: a reference to its current {@link Epoch}. Under a single limit it is
     * changed only by CAS ({@link #decideOne}); in a {@code Counter[]} only under the array's monitor.
     */
    static final class Counter extends Marked {
        private static final VarHandle EPOCH = Handles.field(Counter.class, "epoch", Epoch.class);

        volatile Epoch epoch;

        Counter(long now) {
            this.epoch = new Epoch(now, 0, 0);
        }

        /**
         * Lock-free: replaces {@code from}, whose count was read as {@code current}, by its successor.
         * Seals the count first, so that no increment can land on {@code from} after its count was
         * carried over; if the count moved since it was read, returns for the caller to read again.
         * Any thread that finds an epoch sealed finishes the roll, so a sealer that stalls never
         * blocks the others: at its own time if that is due, else at the earliest time it could have
         * rolled (a thread late or behind a backwards ticker), which is a state a request at that
         * instant would have left. Out of line: it divides and allocates, about once a period.
         */
        void roll(Epoch from, long current, long now, long period) {
            if (current >= 0 && !from.seal(current)) {
                return;
            }
            long due = from.start + period;
            Epoch next = from.next(current & ~Epoch.SEALED, now - due >= 0 ? now : due, period);
            EPOCH.compareAndSet(this, from, next);
        }
    }

    /**
     * One window's start and previous count, which never change, and its current count, which only
     * grows (by CAS, or under the owner's monitor for several limits) until a roll seals it.
     */
    static final class Epoch {
        /** Marks a count carried over to the successor: no more permits may land on it. */
        static final long SEALED = Long.MIN_VALUE;

        private static final VarHandle CURRENT = Handles.field(Epoch.class, "current", long.class);

        final long start;
        final long previous;
        volatile long current;

        Epoch(long start, long previous, long current) {
            this.start = start;
            this.previous = previous;
            this.current = current;
        }

        /** Adds {@code permits} if the count is still {@code expected} (so not sealed). */
        boolean add(long expected, long permits) {
            return CURRENT.compareAndSet(this, expected, expected + permits);
        }

        /** Seals the count if it is still {@code expected}. */
        boolean seal(long expected) {
            return CURRENT.compareAndSet(this, expected, expected | SEALED);
        }

        /** Nanoseconds into the current window, never negative: a backwards ticker reads as its start. */
        long elapsed(long now) {
            return Math.max(now - start, 0);
        }

        /**
         * The epoch holding {@code now} (at least one period past the start), given this one's
         * final count; windows skipped entirely count zero. Once both counts are zero nothing
         * remembers the old grid, so the window re-anchors at {@code now}, exactly as a fresh key
         * would: that is what lets an idle key expire unnoticed.
         */
        Epoch next(long current, long now, long period) {
            long windows = (now - start) / period;
            long previous = windows == 1 ? current : 0;
            return new Epoch(previous == 0 ? now : start + windows * period, previous, 0);
        }

        /**
         * Nanoseconds from {@code now} until {@code permits} are admitted, zero if they are now.
         * Within a window the previous count's weight falls linearly, so the first admitting instant
         * is {@code e' = period - floor(budget * period / previous)}; if the current count alone is
         * too high, the answer lies in the next window, where the current count becomes the previous one.
         */
        long waitNanos(long current, long now, long capacity, long period, long permits) {
            // budget >= previous (>= 0) admits at any e, since previous * (p - e) <= previous * p <= budget * p;
            // answering here also keeps budget * p, which overflows for large capacities, out of
            // BigInteger, and the rest out of the inlined hot path.
            long budget = capacity - current - permits;
            return budget >= previous ? 0 : waitForBudget(current, now, capacity, period, permits, budget);
        }

        private long waitForBudget(long current, long now, long capacity, long period, long permits, long budget) {
            // The wait counts from the reading itself, which may be behind the start (see resetNanos):
            // admitAt is at least 1 here (budget < previous), so a reading behind the start waits.
            long since = now - start;
            if (budget >= 0) {
                long admitAt = Math.max(elapsed(now), period - Exact.mulDivFloor(budget, period, previous));
                return admitAt - since;
            }
            // Next window: previous := current (> capacity - permits >= 0), current := 0.
            long admitAt = Math.max(0, period - Exact.mulDivFloor(capacity - permits, period, current));
            return (period - since) + admitAt;
        }

        /** Whole permits the weighted estimate leaves at {@code now}. */
        long available(long current, long now, long capacity, long period) {
            long weighted = Exact.mulDivCeil(previous, period - elapsed(now), period);
            return Math.max(capacity - current - weighted, 0);
        }

        /**
         * Nanoseconds until both counts have rolled out, from the reading itself: one behind the
         * start (a ticker that jumped back, or a thread whose reading went stale while another rolled
         * the window) is decided as at the start, but waits that much longer.
         */
        long resetNanos(long current, long now, long period) {
            long since = now - start;
            return current > 0 ? 2 * period - since : previous > 0 ? period - since : 0;
        }
    }
}
