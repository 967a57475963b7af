package dev.ratelimit.core;

import java.lang.invoke.VarHandle;

/**
 * {@link Algorithm#FIXED_WINDOW}: at most {@code capacity} permits per window of {@code period}.
 *
 * <p>A key's window opens with the first request admitted after its previous window ended, so an
 * idle key's state is dropped after one period. {@code resetAfter} is the time to the window's
 * end. The known weakness, kept on purpose for its O(1) state: a client can spend
 * {@code capacity} just before a window ends and {@code capacity} again as the next one opens.
 *
 * <p>State per key and limit: a {@link Window}, whose current {@link Epoch} holds the window's end
 * and count. A ticker that jumps backwards keeps the current window, so it never creates permits.
 */
final class FixedWindow extends WindowStrategy<FixedWindow.Window> {

    FixedWindow(Policy policy) {
        super(policy, 1, Window::new, Window[]::new);
    }

    /**
     * Lock-free: under two threads a contended monitor cost more than the decision itself. The
     * window's current {@link Epoch} fixes its end; permits are CASed onto its count, and the first
     * admitted request at or past the end (or on a new key's placeholder) CASes in the next epoch.
     * A request that loses either race reads again, so a decision is always made on one epoch's
     * figures: a permit is never lost nor taken twice, and no epoch's count exceeds the capacity.
     * A late thread whose time belongs to a replaced epoch counts in the newer one, which is only
     * stricter. A denial or a peek never rolls, so single-threaded figures are exactly those of
     * {@link #decideAll}.
     */
    @Override
    Decision decideOne(Window window, long now, long permits, boolean consume) {
        Epoch epoch;
        long count;
        boolean ok;
        while (true) {
            epoch = window.epoch;
            count = epoch.count(now);
            ok = firstCapacity - count >= permits;
            if (!ok || !consume) {
                break;
            }
            // A count of zero is no window: the epoch ended, or it is a new key's placeholder (see
            // Window), which ends at its creator's reading and so not for a request read just before.
            if (count == 0) {
                Epoch next = window.open(epoch, now + firstPeriod, permits);
                if (next != null) {
                    epoch = next;
                    count = permits;
                    break;
                }
            } else if (epoch.add(count, permits)) {
                count += permits;
                break;
            }
        }
        if (consume && window.retired()) {
            return RETIRED;
        }
        long untilEnd = Math.max(epoch.end - now, 0);
        return new Decision(ok, firstCapacity - count, firstCapacity, ok ? 0 : untilEnd, count > 0 ? untilEnd : 0);
    }

    @Override
    Decision decideAll(Window[] windows, long now, long permits, boolean consume) {
        synchronized (windows) {
            boolean ok = true;
            long retry = 0;
            for (int i = 0; i < size; i++) {
                if (capacity[i] - windows[i].count(now) < permits) {
                    ok = false;
                    retry = Math.max(retry, windows[i].epoch.end - now);
                }
            }
            if (ok && consume) {
                for (int i = 0; i < size; i++) {
                    windows[i].take(now, period[i], permits);
                }
                if (windows[0].retired()) {
                    return RETIRED;
                }
            }
            long remaining = Long.MAX_VALUE;
            long binding = capacity[0];
            long reset = 0;
            for (int i = 0; i < size; i++) {
                long count = windows[i].count(now);
                if (capacity[i] - count < remaining) {
                    remaining = capacity[i] - count;
                    binding = capacity[i];
                }
                if (count > 0) {
                    reset = Math.max(reset, windows[i].epoch.end - now);
                }
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    /**
     * One limit's current window: a reference to its current {@link Epoch}. Under a single limit it
     * is changed only by CAS ({@link #decideOne}); in a {@code Window[]} only under the array's monitor.
     */
    static final class Window extends Marked {
        private static final VarHandle EPOCH = Handles.field(Window.class, "epoch", Epoch.class);

        volatile Epoch epoch;

        /**
         * No window yet: the first request admitted opens one, also a request whose reading is
         * earlier than {@code now} (it read the ticker before this key's creator did), for which
         * this placeholder epoch has not ended: it holds no permit, and none may land on it.
         */
        Window(long now) {
            this.epoch = new Epoch(now, 0);
        }

        long count(long now) {
            return epoch.count(now);
        }

        /** Under the owner's monitor only: the lock-free path uses {@link #open} and {@link Epoch#add}. */
        void take(long now, long period, long permits) {
            Epoch current = epoch;
            if (current.count(now) == 0) { // ended, or the placeholder: see decideOne
                epoch = new Epoch(now + period, permits);
            } else {
                current.count += permits;
            }
        }

        /**
         * Replaces {@code ended} by a new epoch holding {@code permits}, unless another request did
         * first (then null). A method of its own so that C2, seeing it called about once per
         * period, leaves it and its allocation out of the inlined hot path (as PrintInlining shows).
         */
        Epoch open(Epoch ended, long end, long permits) {
            Epoch next = new Epoch(end, permits);
            return EPOCH.compareAndSet(this, ended, next) ? next : null;
        }
    }

    /**
     * One window's span: its end never changes, so a request that read the epoch also knows which
     * window its count belongs to; a new window is a new epoch. The count only grows, by CAS.
     */
    static final class Epoch {
        private static final VarHandle COUNT = Handles.field(Epoch.class, "count", long.class);

        final long end;
        volatile long count;

        Epoch(long end, long count) {
            this.end = end;
            this.count = count;
        }

        /** A ticker that jumps backwards stays in this epoch, so it never creates permits. */
        boolean ended(long now) {
            return now - end >= 0;
        }

        long count(long now) {
            return ended(now) ? 0 : count;
        }

        /** Adds {@code permits} if the count is still {@code expected}. */
        boolean add(long expected, long permits) {
            return COUNT.compareAndSet(this, expected, expected + permits);
        }
    }
}
