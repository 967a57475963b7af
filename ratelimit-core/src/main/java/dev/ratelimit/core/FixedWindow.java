package dev.ratelimit.core;

/**
 * {@link Algorithm#FIXED_WINDOW}: at most {@code capacity} permits per window of {@code period}.
 *
 * <p>A key's window opens with the first request admitted after its previous window ended, so an
 * idle key's state is dropped after one period. {@code resetAfter} is the time to the window's
 * end. The known weakness, kept on purpose for its O(1) state: a client can spend
 * {@code capacity} just before a window ends and {@code capacity} again as the next one opens.
 *
 * <p>State per key and limit: a {@link Window} (window end, count). A ticker that jumps backwards
 * keeps the current window, so it never creates permits.
 */
final class FixedWindow extends WindowStrategy<FixedWindow.Window> {

    FixedWindow(Policy policy) {
        super(policy, 1, Window::new, Window[]::new);
    }

    @Override
    Decision decideOne(Window window, long now, long permits, boolean consume) {
        boolean ok;
        long count;
        long end;
        synchronized (window) {
            ok = firstCapacity - window.count(now) >= permits;
            if (ok && consume) {
                window.take(now, firstPeriod, permits);
            }
            count = window.count(now);
            end = window.end;
        }
        long untilEnd = Math.max(end - now, 0);
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
                    retry = Math.max(retry, windows[i].end - now);
                }
            }
            if (ok && consume) {
                for (int i = 0; i < size; i++) {
                    windows[i].take(now, period[i], permits);
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
                    reset = Math.max(reset, windows[i].end - now);
                }
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    /** One limit's current window; its owner's monitor guards it. */
    static final class Window extends Marked {
        long end;
        long count;

        /** An ended window: the first request opens a new one. */
        Window(long now) {
            this.end = now;
        }

        boolean ended(long now) {
            return now - end >= 0;
        }

        long count(long now) {
            return ended(now) ? 0 : count;
        }

        void take(long now, long period, long permits) {
            if (ended(now)) {
                end = now + period;
                count = permits;
            } else {
                count += permits;
            }
        }
    }
}
