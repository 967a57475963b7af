package dev.ratelimit.core;

import java.util.List;

/**
 * The frame the window algorithms share: each limit's capacity and period, an idle time of a
 * whole number of periods, and one {@code decide} that takes permits or only looks.
 *
 * @param <S> the per-key state; {@code decide} guards it with the state's own monitor
 */
abstract class WindowStrategy<S> implements Strategy {

    final int size;
    final long[] capacity;
    final long[] period;
    private final long idleNanos;

    /** @param idlePeriods how many of its longest period a key must stay untouched to be fresh again */
    WindowStrategy(Policy policy, int idlePeriods) {
        List<Limit> limits = policy.limits();
        size = limits.size();
        capacity = new long[size];
        period = new long[size];
        long longest = 0;
        for (int i = 0; i < size; i++) {
            capacity[i] = limits.get(i).capacity();
            period[i] = limits.get(i).periodNanos();
            longest = Math.max(longest, period[i]);
        }
        idleNanos = idlePeriods * longest;
    }

    /** Takes {@code permits} at {@code now} if every limit allows them, or only reports when {@code consume} is false. */
    abstract Decision decide(S state, long now, long permits, boolean consume);

    @Override
    public final long idleNanos() {
        return idleNanos;
    }

    @Override
    @SuppressWarnings("unchecked")
    public final Decision tryAcquire(Object state, long now, long permits) {
        return decide((S) state, now, permits, true);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Decision peek(Object state, long now) {
        return decide((S) state, now, 1, false);
    }
}
