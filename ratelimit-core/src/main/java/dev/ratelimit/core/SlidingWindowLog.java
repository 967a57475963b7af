package dev.ratelimit.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * {@link Algorithm#SLIDING_WINDOW_LOG}: exactly at most {@code capacity} permits in any interval of
 * {@code period}, because every admitted request is remembered until it leaves the window.
 *
 * <p>A request admitted at {@code t} counts against every request before {@code t + period}. The
 * price is memory: each key keeps one entry (time, permits) per admitted request still in the
 * window, so O(capacity) per key and limit in the worst case. The log starts small and grows by
 * doubling; {@link Policy} refuses capacities above {@link Policy#MAX_LOG_CAPACITY}.
 *
 * <p>State per key and limit: a {@link Log}. A ticker that jumps backwards keeps entries from the
 * "future" in the window, so it never creates permits; and a reading behind the latest one that
 * dropped entries from the log (a step back, or a thread held up between its reading and its
 * decision) is decided as of that later one, since the entries dropped may still be in the
 * earlier reading's window (see {@link Log#at}). Only a decision drops entries; a peek changes
 * nothing (see {@link #peek}).
 */
final class SlidingWindowLog extends WindowStrategy<SlidingWindowLog.Log> {

    SlidingWindowLog(Policy policy) {
        super(policy, 1, Log::new, Log[]::new);
    }

    /**
     * A single limit's log is guarded by its own sequence lock rather than a monitor: under two
     * threads a contended monitor cost more than the decision (0.37x a lock-free bucket on the
     * denied path). A decision that changes nothing (a denial or a peek, with no entry due to
     * leave the window) reads the log optimistically and takes no lock, so a denied flood on one
     * key writes no shared memory; everything else takes the lock, which is held for a few dozen
     * instructions and never across a call out.
     */
    @Override
    Decision decideOne(Log log, long now, long permits, boolean consume) {
        // Only a denial or a peek can be answered without the lock, so a request the count (read
        // unguarded, as a hint) would admit goes straight to it: that keeps the optimistic reads
        // out of the admitted path's compiled code, whose size decides whether it inlines into
        // the caller and its Decision is never allocated.
        if (!consume || log.used + permits > firstCapacity) {
            int stamp = log.stamp();
            if ((stamp & 1) == 0 && !log.isEmpty() && now - log.oldest() < firstPeriod) {
                // Nothing expires, so the log is as expire() would leave it; the figures are final
                // only if no writer ran meanwhile (validate), since a racing one may have torn them.
                long used = log.used;
                long excess = used + permits - firstCapacity;
                if (excess > 0 || !consume) {
                    long retry = excess > 0 ? log.timeToFreeOrMinus(excess, now, firstPeriod) : 0;
                    long reset = log.resetNanos(now, firstPeriod);
                    if (log.validate(stamp) && retry >= 0) {
                        return new Decision(excess <= 0, firstCapacity - used, firstCapacity, retry, Math.max(reset, 0));
                    }
                }
            }
        }
        return decideLocked(log, now, permits, consume);
    }

    /**
     * {@link #decideOne} under the log's lock. A method of its own, as C2 inlines no method of more
     * than 325 bytecodes however hot, and decideOne would otherwise be one.
     *
     * <p>No try/finally: its exception paths made this method's compiled code 448 bytes larger
     * (2,464 against 2,016 on JDK 17, -XX:+LogCompilation), enough to keep the hot path from
     * inlining into its caller at two threads, where it then allocated its Decision. Nothing
     * between lock and unlock can throw: the ring grows before, in {@link Log#slowPath}, and a
     * growth that fails releases the lock; a broken invariant is reported after the unlock.
     */
    private Decision decideLocked(Log log, long now, long permits, boolean consume) {
        long retry = 0;
        int locked = log.lock();
        if (locked == 0 || log.full()) {
            locked = log.slowPath(locked);
        }
        long at = log.at(now);
        log.expire(at, firstPeriod);
        long excess = log.used + permits - firstCapacity;
        boolean ok = excess <= 0;
        if (!ok) {
            retry = log.timeToFreeOrMinus(excess, now, firstPeriod);
        } else if (consume) {
            log.append(at, permits);
        }
        long remaining = firstCapacity - log.used;
        long reset = log.resetNanos(now, firstPeriod);
        log.unlock(locked);
        if (retry < 0) {
            throw Log.brokenInvariant(excess, firstCapacity - remaining);
        }
        if (consume && log.retired()) {
            return RETIRED;
        }
        // Neither figure can be negative: timeToFreeOrMinus clamps, and after expire() every
        // entry, the newest too, is less than a period older than `at`, which is not before now.
        return new Decision(ok, remaining, firstCapacity, retry, reset);
    }

    @Override
    Decision decideAll(Log[] logs, long now, long permits, boolean consume) {
        synchronized (logs) {
            boolean ok = true;
            long retry = 0;
            long at = now;
            for (Log log : logs) {
                at = log.at(at);
            }
            for (int i = 0; i < size; i++) {
                Log log = logs[i];
                log.expire(at, period[i]);
                long excess = log.used + permits - capacity[i];
                if (excess > 0) {
                    ok = false;
                    retry = Math.max(retry, log.timeToFree(excess, now, period[i]));
                }
            }
            if (ok && consume) {
                // Every ring grows first, so that a failed allocation leaves them all as they were.
                for (Log log : logs) {
                    if (log.full()) {
                        log.grow(0);
                    }
                }
                for (Log log : logs) {
                    log.append(at, permits);
                }
                if (logs[0].retired()) {
                    return RETIRED;
                }
            }
            long remaining = Long.MAX_VALUE;
            long binding = capacity[0];
            long reset = 0;
            for (int i = 0; i < size; i++) {
                Log log = logs[i];
                if (capacity[i] - log.used < remaining) {
                    remaining = capacity[i] - log.used;
                    binding = capacity[i];
                }
                reset = Math.max(reset, log.resetNanos(now, period[i]));
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    /**
     * A peek changes nothing, not even the entries that have left the window. Dropping them moves
     * the time a later reading behind the peek's is decided at (see {@link Log#at}), and the cache
     * records no access for a peek: an admission after a step back, counted from the peek's time,
     * then outlasted the key's idle window as the cache measures it, and the key expired, and came
     * back empty, with that admission still in the window. The figures are those of a decision at
     * the same reading, as though the entries that have left had been dropped.
     */
    @Override
    public Decision peek(Object state, long now) {
        if (state instanceof Log log) {
            // Without the lock when nothing has left the window, as decideOne reads a denial.
            int stamp = log.stamp();
            if ((stamp & 1) == 0 && !log.isEmpty() && now - log.oldest() < firstPeriod) {
                long used = log.used;
                long excess = used + 1 - firstCapacity;
                long retry = excess > 0 ? log.timeToFreeOrMinus(excess, now, firstPeriod) : 0;
                long reset = log.resetNanos(now, firstPeriod);
                if (log.validate(stamp) && retry >= 0) {
                    return new Decision(excess <= 0, firstCapacity - used, firstCapacity, retry, Math.max(reset, 0));
                }
            }
            int locked = log.lock();
            if (locked == 0 || log.full()) {
                locked = log.slowPath(locked); // as decideLocked: a growth that fails has let go
            }
            try {
                return peekAll(new Log[] {log}, now);
            } finally {
                log.unlock(locked);
            }
        }
        Log[] logs = (Log[]) state;
        synchronized (logs) {
            return peekAll(logs, now);
        }
    }

    /** {@link #decideAll}'s figures for one permit, consuming nothing and dropping nothing; under the logs' guard. */
    private Decision peekAll(Log[] logs, long now) {
        long at = now;
        for (Log log : logs) {
            at = log.at(at);
        }
        boolean ok = true;
        long retry = 0;
        long remaining = Long.MAX_VALUE;
        long binding = capacity[0];
        long reset = 0;
        for (int i = 0; i < size; i++) {
            Log log = logs[i];
            int live = log.liveHead(at, period[i]);
            long used = log.usedFrom(live);
            long excess = used + 1 - capacity[i];
            if (excess > 0) {
                ok = false;
                retry = Math.max(retry, log.timeToFreeFrom(live, excess, now, period[i]));
            }
            if (capacity[i] - used < remaining) {
                remaining = capacity[i] - used;
                binding = capacity[i];
            }
            reset = Math.max(reset, log.resetNanosFrom(live, now, period[i]));
        }
        return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
    }

    /**
     * A ring of (time, permits) entries, oldest first, and the sum of their permits. A single
     * limit's log is guarded by {@link #sequence} (see {@link #decideOne}); several limits' logs
     * by the monitor of their array.
     */
    static final class Log extends Marked {
        private static final VarHandle SEQUENCE;
        /** Tries before giving up: with the backoff, some thousand pauses, tens of microseconds. */
        private static final int SPINS = 20;

        static {
            try {
                SEQUENCE = MethodHandles.lookup().findVarHandle(Log.class, "sequence", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        /**
         * A ring of (time, permits) pairs, of a power-of-two length; one pair is always free, so
         * that head equal to tail means empty.
         */
        private long[] entries = new long[8];
        /** The index of the oldest entry's time; its permits follow. */
        private int head;
        /** The index where the next entry's time goes; equal to {@link #head} when the log is empty. */
        private int tail;
        long used;
        /** Odd while a writer holds the log; every write adds 2 in all. */
        private int sequence;
        /**
         * The latest time {@link #expire} dropped entries at (at first, the time the log was
         * created). Only times that dropped entries: the optimistic reads of decideOne, which
         * cannot write, are exactly the decisions that drop none, so the single limit's path and
         * the general one keep the same time. Written and read under the log's lock (or the
         * monitor of several limits' logs).
         */
        private long dropped;

        Log(long now) {
            this.dropped = now;
        }

        /**
         * The time to decide a reading of {@code now} at: {@code now}, or the latest time entries
         * were dropped at when {@code now} is behind it. An entry dropped then may still be inside
         * the window of {@code now}, and a decision there would not count it: a denial at 12 s
         * dropped an entry of 0 s from a log of 2 per 10 s, and a request read at 8 s (its
         * thread held up, or the ticker stepped back) was then admitted beside 0 s and 5 s. As of
         * the later time, every dropped entry has left the window, so nothing is lost; the request
         * is counted from that time, which keeps it in the window longer, never shorter. Figures
         * (retryAfter, resetAfter) are still given from {@code now}, the caller's own reading.
         *
         * <p>It costs the hot path: with both times live, decideLocked compiles 128 bytes larger
         * (JDK 17, -XX:+LogCompilation), and at two threads on one key the limiter's tryAcquire
         * then compiled to 2,624 bytes, past the 2,500 up to which C2 inlines it, so it allocated
         * its Decision in every fork, where it had in one of four. Exactness comes first.
         */
        long at(long now) {
            long at = dropped;
            return now - at < 0 ? at : now;
        }

        /** The sequence before optimistic reads: odd means a writer holds the log. */
        int stamp() {
            return (int) SEQUENCE.getAcquire(this);
        }

        /** Whether no writer took the log since {@code stamp}, so the reads since were of one state. */
        boolean validate(int stamp) {
            VarHandle.acquireFence();
            return (int) SEQUENCE.getOpaque(this) == stamp;
        }

        /**
         * Takes the log for writing and returns the odd sequence to hand to {@link #unlock}, or
         * zero, having taken nothing, when a holder kept it past the spin budget: the holder is
         * out within a few dozen instructions unless its thread lost its core (more threads than
         * cores), and then spinning on only burns this thread's time slice, so the caller goes on
         * in {@link #slowPath}, which yields the CPU between tries. The uncontended CAS first and
         * the spinning out of line: C2 then leaves the loop out of the hot path's compiled code
         * until contention has run it a few hundred times (PrintInlining: "executed &lt;
         * MinInliningThreshold times").
         */
        int lock() {
            // The CAS is written out here, in lockContended and in slowPath rather than shared
            // through a tryLock() returning zero: that compiled the hot path 100-160 bytes larger
            // once the spin is inlined (2,496-2,560 against 2,368-2,400), and made slowPath short
            // enough (29 bytecodes) for C2 to inline it wherever it had run a few hundred times.
            int current = (int) SEQUENCE.getOpaque(this);
            if ((current & 1) == 0 && SEQUENCE.compareAndSet(this, current, current + 1)) {
                return current + 1;
            }
            return lockContended();
        }

        private int lockContended() {
            for (int tries = 0; tries < SPINS; tries++) {
                // Backing off, 1, 2, 4 ... 64 pauses between tries, let the holder's next
                // request through too, rather than the two threads taking turns and moving the
                // log's lines between their cores on every request: at two threads on one key
                // 15.8 ops/us, against 10.2 with one pause per try.
                for (int pauses = 1 << Math.min(tries, 6); pauses > 0; pauses--) {
                    Thread.onSpinWait();
                }
                int current = (int) SEQUENCE.getOpaque(this);
                if ((current & 1) == 0 && SEQUENCE.compareAndSet(this, current, current + 1)) {
                    return current + 1;
                }
            }
            return 0;
        }

        /**
         * The two rare turns of taking the log, in one call: waits for the lock if {@link #lock}
         * gave up ({@code locked} zero), yielding the CPU between tries; then doubles the ring if
         * it is full, so that {@link #append} always finds room. Returns the lock.
         *
         * <p>One call rather than a call at each turn: a call that profiling has seen reached is
         * compiled into the hot path with everything live around it saved and restored, and the
         * hot path must stay under the 2,500 bytes up to which C2 inlines it into its caller, whose
         * {@link Decision} is otherwise allocated. Nor may a turn return instead of a Decision:
         * C2 (JDK 17) does not scalar-replace a Decision merged with another value.
         */
        int slowPath(int locked) {
            while (locked == 0) {
                Thread.yield();
                int current = (int) SEQUENCE.getOpaque(this);
                if ((current & 1) == 0 && SEQUENCE.compareAndSet(this, current, current + 1)) {
                    locked = current + 1;
                }
            }
            if (full()) {
                grow(locked);
            }
            return locked;
        }

        void unlock(int locked) {
            SEQUENCE.setRelease(this, locked + 1);
        }

        // The ring's ends are indexes into the array itself, time at an even index and permits
        // after it, so that no access adds or doubles; and every index is masked by the length of
        // the very array it reads, a shape for which C2 drops the range check, and with it a
        // deoptimization stub per access. The hot path's compiled size decides whether it inlines
        // into its caller, which never allocates its Decision only then (see decideOne).

        /** Whether the log holds no entry. */
        boolean isEmpty() {
            return head == tail;
        }

        /** The time of the oldest entry; only for a log that is not empty. */
        long oldest() {
            long[] e = entries;
            return e[head & (e.length - 1)];
        }

        /** Nanoseconds until the newest entry has left the window; zero when the log is empty. */
        long resetNanos(long now, long period) {
            long[] e = entries;
            return head != tail ? e[(tail - 2) & (e.length - 1)] + period - now : 0;
        }

        /**
         * Drops the entries that have left the window {@code (at - period, at]}, and remembers
         * {@code at} if it dropped any; {@code at} must come from {@link #at}, so that the time
         * remembered never goes back.
         */
        void expire(long at, long period) {
            long[] e = entries;
            int mask = e.length - 1;
            int h = head;
            while (h != tail && at - e[h & mask] >= period) {
                used -= e[(h + 1) & mask];
                h = (h + 2) & mask;
            }
            // a select, not a branch: each branch adds a deoptimization stub to the hot path's
            // compiled code, whose size decides whether its Decision is allocated (see decideOne)
            dropped = h == head ? dropped : at;
            head = h;
        }

        /** Nanoseconds until the oldest entries holding at least {@code excess} permits have left. */
        long timeToFree(long excess, long now, long period) {
            long wait = timeToFreeOrMinus(excess, now, period);
            if (wait < 0) {
                throw brokenInvariant(excess, used);
            }
            return wait;
        }

        /** The log's entries held fewer permits than its count says: a bug, never a caller's error. */
        static IllegalStateException brokenInvariant(long excess, long used) {
            return new IllegalStateException("excess " + excess + " exceeds the log's " + used + " permits");
        }

        /**
         * {@link #timeToFree}, or -1 when the entries do not hold {@code excess}: a log read while a
         * writer changed it. The wait is never negative otherwise, since every entry is in the window.
         * The entries are counted once, before the walk, so that a torn read of the ends (a writer
         * that grew the array in between) still ends the walk.
         */
        long timeToFreeOrMinus(long excess, long now, long period) {
            long[] e = entries;
            int mask = e.length - 1;
            int h = head;
            long freed = 0;
            for (int n = ((tail - h) & mask) >> 1; n > 0; n--, h += 2) {
                freed += e[(h + 1) & mask];
                if (freed >= excess) {
                    return Math.max(e[h & mask] + period - now, 0);
                }
            }
            return -1;
        }

        /**
         * Adds an admission at {@code now}, or, when {@code now} is behind the newest entry (a
         * ticker that stepped back, or a thread whose reading went stale while another appended),
         * to the newest entry: so the log stays in time order, which {@link #expire},
         * {@link #timeToFree} and {@link #resetNanos} rely on. Counting it from the later time
         * keeps it in the window longer, never shorter. The ring must have a pair free, which
         * {@link #slowPath} and {@link SlidingWindowLog#decideAll} see to before: so head equal to tail always
         * means empty.
         */
        void append(long now, long permits) {
            long[] e = entries;
            int mask = e.length - 1;
            int t = tail;
            if (head != t && now - e[(t - 2) & mask] <= 0) {
                e[(t - 1) & mask] += permits;
            } else {
                e[t & mask] = now;
                e[(t + 1) & mask] = permits;
                tail = (t + 2) & mask;
            }
            used += permits;
        }

        /** The index of the oldest entry still in the window {@code (at - period, at]}, which expire() would make the head; drops nothing. */
        int liveHead(long at, long period) {
            long[] e = entries;
            int mask = e.length - 1;
            int h = head;
            while (h != tail && at - e[h & mask] >= period) {
                h = (h + 2) & mask;
            }
            return h;
        }

        /** The permits of the entries from index {@code live} on. */
        long usedFrom(int live) {
            long[] e = entries;
            int mask = e.length - 1;
            long sum = used;
            for (int h = head; h != live; h = (h + 2) & mask) {
                sum -= e[(h + 1) & mask];
            }
            return sum;
        }

        /** {@link #timeToFree} over the entries from index {@code live} on. */
        long timeToFreeFrom(int live, long excess, long now, long period) {
            long[] e = entries;
            int mask = e.length - 1;
            long freed = 0;
            for (int h = live; h != tail; h = (h + 2) & mask) {
                freed += e[(h + 1) & mask];
                if (freed >= excess) {
                    return Math.max(e[h & mask] + period - now, 0);
                }
            }
            throw brokenInvariant(excess, freed);
        }

        /** {@link #resetNanos} over the entries from index {@code live} on: the newest entry's, if any is left. */
        long resetNanosFrom(int live, long now, long period) {
            return live != tail ? resetNanos(now, period) : 0;
        }

        /** The pairs the ring has room for; for tests of its memory bound. */
        int slots() {
            return entries.length / 2;
        }

        /** Whether one more entry would fill the ring, which must keep a pair free (see append). */
        boolean full() {
            return ((tail + 2) & (entries.length - 1)) == head;
        }

        /**
         * Doubles the ring, oldest entry first; an allocation that fails leaves it as it was. A
         * single limit's decision holds the log's lock without a finally (see decideLocked), and
         * passes it as {@code locked}, which a failure releases; zero for several limits' logs,
         * which their monitor guards.
         */
        void grow(int locked) {
            long[] e = entries;
            long[] bigger;
            try {
                bigger = new long[e.length * 2];
            } catch (Throwable t) {
                if (locked != 0) {
                    unlock(locked);
                }
                throw t;
            }
            int h = head;
            System.arraycopy(e, h, bigger, 0, e.length - h);
            System.arraycopy(e, 0, bigger, e.length - h, h);
            tail = (tail - h) & (e.length - 1);
            head = 0;
            entries = bigger;
        }
    }
}
