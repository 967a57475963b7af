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
 * "future" in the window, so it never creates permits.
 */
final class SlidingWindowLog extends WindowStrategy<SlidingWindowLog.Log> {

    SlidingWindowLog(Policy policy) {
        super(policy, 1, now -> new Log(), Log[]::new);
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
            if ((stamp & 1) == 0 && log.size > 0 && now - log.time(0) < firstPeriod) {
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
     */
    private Decision decideLocked(Log log, long now, long permits, boolean consume) {
        boolean ok;
        long retry = 0;
        long remaining;
        long reset;
        int locked = log.lock();
        try {
            log.expire(now, firstPeriod);
            long excess = log.used + permits - firstCapacity;
            ok = excess <= 0;
            if (!ok) {
                retry = log.timeToFree(excess, now, firstPeriod);
            } else if (consume) {
                log.append(now, permits);
            }
            remaining = firstCapacity - log.used;
            reset = log.resetNanos(now, firstPeriod);
        } finally {
            log.unlock(locked);
        }
        if (consume && log.retired()) {
            return RETIRED;
        }
        return new Decision(ok, remaining, firstCapacity, Math.max(retry, 0), Math.max(reset, 0));
    }

    @Override
    Decision decideAll(Log[] logs, long now, long permits, boolean consume) {
        synchronized (logs) {
            boolean ok = true;
            long retry = 0;
            for (int i = 0; i < size; i++) {
                Log log = logs[i];
                log.expire(now, period[i]);
                long excess = log.used + permits - capacity[i];
                if (excess > 0) {
                    ok = false;
                    retry = Math.max(retry, log.timeToFree(excess, now, period[i]));
                }
            }
            if (ok && consume) {
                for (Log log : logs) {
                    log.append(now, permits);
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
     * A ring of (time, permits) entries, oldest first, and the sum of their permits. A single
     * limit's log is guarded by {@link #sequence} (see {@link #decideOne}); several limits' logs
     * by the monitor of their array.
     */
    static final class Log extends Marked {
        private static final VarHandle SEQUENCE;
        /** Tries before yielding: with the backoff, some thousand pauses, tens of microseconds. */
        private static final int SPINS = 20;

        static {
            try {
                SEQUENCE = MethodHandles.lookup().findVarHandle(Log.class, "sequence", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private long[] entries = new long[8];
        private int head;
        int size;
        long used;
        /** Odd while a writer holds the log; every write adds 2 in all. */
        private int sequence;

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
         * Takes the log for writing and returns the odd sequence to hand to {@link #unlock}. Spins
         * a while, as the holder is out within a few dozen instructions, then yields the CPU in
         * case the holder's thread was descheduled (more threads than cores). The uncontended CAS
         * first, the waiting out of line: C2 then leaves the loop out of the hot path's compiled
         * code until contention has run it a few hundred times (PrintInlining: "executed <
         * MinInliningThreshold times"); compiled in, it pushed the sliding log's hot path at two
         * threads past the size up to which C2 inlines it into its caller.
         */
        int lock() {
            int current = (int) SEQUENCE.getOpaque(this);
            if ((current & 1) == 0 && SEQUENCE.compareAndSet(this, current, current + 1)) {
                return current + 1;
            }
            return lockContended();
        }

        private int lockContended() {
            for (int tries = 0; ; tries++) {
                int current = (int) SEQUENCE.getOpaque(this);
                if ((current & 1) == 0 && SEQUENCE.compareAndSet(this, current, current + 1)) {
                    return current + 1;
                }
                if (tries < SPINS) {
                    // Backing off, 1, 2, 4 ... 64 pauses between tries, let the holder's next
                    // request through too, rather than the two threads taking turns and moving the
                    // log's lines between their cores on every request: at two threads on one key
                    // 15.8 ops/us, against 10.2 with one pause per try.
                    for (int pauses = 1 << Math.min(tries, 6); pauses > 0; pauses--) {
                        Thread.onSpinWait();
                    }
                } else {
                    Thread.yield();
                }
            }
        }

        void unlock(int locked) {
            SEQUENCE.setRelease(this, locked + 1);
        }

        // Every index is masked by the length of the very array it reads, a shape for which C2
        // drops the range check, and with it a deoptimization stub per access on the hot path.

        long time(int index) {
            long[] e = entries;
            return e[(2 * (head + index)) & (e.length - 1)];
        }

        private long permits(int index) {
            long[] e = entries;
            return e[(2 * (head + index) + 1) & (e.length - 1)];
        }

        /** Nanoseconds until the newest entry has left the window; zero when the log is empty. */
        long resetNanos(long now, long period) {
            return size > 0 ? time(size - 1) + period - now : 0;
        }

        /** Drops the entries that have left the window {@code (now - period, now]}. */
        void expire(long now, long period) {
            while (size > 0 && now - time(0) >= period) {
                used -= permits(0);
                head = (head + 1) & (entries.length / 2 - 1);
                size--;
            }
        }

        /** Nanoseconds until the oldest entries holding at least {@code excess} permits have left. */
        long timeToFree(long excess, long now, long period) {
            long wait = timeToFreeOrMinus(excess, now, period);
            if (wait < 0) {
                throw new IllegalStateException("excess " + excess + " exceeds the log's " + used + " permits");
            }
            return wait;
        }

        /**
         * {@link #timeToFree}, or -1 when the entries do not hold {@code excess}: a log read while a
         * writer changed it. The wait is never negative otherwise, since every entry is in the window.
         */
        long timeToFreeOrMinus(long excess, long now, long period) {
            long freed = 0;
            for (int index = 0, n = size; index < n; index++) {
                freed += permits(index);
                if (freed >= excess) {
                    return Math.max(time(index) + period - now, 0);
                }
            }
            return -1;
        }

        /**
         * Adds an admission at {@code now}, or, when {@code now} is behind the newest entry (a
         * ticker that stepped back, or a thread whose reading went stale while another appended),
         * to the newest entry: so the log stays in time order, which {@link #expire},
         * {@link #timeToFree} and {@link #resetNanos} rely on. Counting it from the later time
         * keeps it in the window longer, never shorter.
         */
        void append(long now, long permits) {
            used += permits;
            if (size > 0 && now - time(size - 1) <= 0) {
                long[] e = entries;
                e[(2 * (head + size - 1) + 1) & (e.length - 1)] += permits;
                return;
            }
            if (2 * size == entries.length) {
                grow();
            }
            long[] e = entries;
            e[(2 * (head + size)) & (e.length - 1)] = now;
            e[(2 * (head + size) + 1) & (e.length - 1)] = permits;
            size++;
        }

        private void grow() {
            long[] bigger = new long[entries.length * 2];
            for (int index = 0; index < size; index++) {
                bigger[2 * index] = time(index);
                bigger[2 * index + 1] = permits(index);
            }
            entries = bigger;
            head = 0;
        }
    }
}
