package dev.ratelimit.core;

/**
 * {@link Algorithm#FIXED_WINDOW}: at most {@code capacity} permits per window of {@code period}.
 *
 * <p>A key's window opens with the first request admitted after its previous window ended, so an
 * idle key's state is dropped after one period. {@code resetAfter} is the time to the window's
 * end. The known weakness, kept on purpose for its O(1) state: a client can spend
 * {@code capacity} just before a window ends and {@code capacity} again as the next one opens.
 *
 * <p>State per key: a {@code long[]} of (window end, count) pairs, one per limit, guarded by its
 * own monitor. A ticker that jumps backwards keeps the current window, so it never creates permits.
 */
final class FixedWindow extends WindowStrategy<long[]> {

    FixedWindow(Policy policy) {
        super(policy, 1);
    }

    @Override
    public Object newState(long now) {
        long[] state = new long[2 * size];
        for (int i = 0; i < size; i++) {
            state[2 * i] = now; // an ended window: the first request opens a new one
        }
        return state;
    }

    @Override
    Decision decide(long[] windows, long now, long permits, boolean consume) {
        synchronized (windows) {
            boolean ok = true;
            long retry = 0;
            for (int i = 0; i < size; i++) {
                if (capacity[i] - count(windows, i, now) < permits) {
                    ok = false;
                    retry = Math.max(retry, windows[2 * i] - now);
                }
            }
            if (ok && consume) {
                for (int i = 0; i < size; i++) {
                    if (ended(windows, i, now)) {
                        windows[2 * i] = now + period[i];
                        windows[2 * i + 1] = permits;
                    } else {
                        windows[2 * i + 1] += permits;
                    }
                }
            }
            long remaining = Long.MAX_VALUE;
            long binding = capacity[0];
            long reset = 0;
            for (int i = 0; i < size; i++) {
                long count = count(windows, i, now);
                if (capacity[i] - count < remaining) {
                    remaining = capacity[i] - count;
                    binding = capacity[i];
                }
                if (count > 0) {
                    reset = Math.max(reset, windows[2 * i] - now);
                }
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    private static boolean ended(long[] windows, int i, long now) {
        return now - windows[2 * i] >= 0;
    }

    private static long count(long[] windows, int i, long now) {
        return ended(windows, i, now) ? 0 : windows[2 * i + 1];
    }
}
