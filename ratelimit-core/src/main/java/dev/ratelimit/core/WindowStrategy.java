package dev.ratelimit.core;

import java.util.List;
import java.util.function.IntFunction;
import java.util.function.LongFunction;

/**
 * The frame the window algorithms share: each limit's capacity and period, an idle time of a
 * whole number of periods, and a state of one {@code W} per limit.
 *
 * <p>A key under a single limit (the common case) has the {@code W} itself as its state, which
 * guards itself (lock-free, or the sliding log's sequence lock); being {@link Marked}, it lets the
 * limiter skip most cache bookkeeping, as a token bucket's cell does. Its decision is
 * {@link #decideOne}: straight-line code that builds its {@link Decision} in one place, so that it
 * inlines into the caller and escape analysis removes the {@code Decision}; a loop over several
 * limits compiled too big for that. Several limits keep a
 * {@code W[]} whose monitor guards them all, decided by {@link #decideAll}.
 *
 * @param <W> one limit's window state
 */
abstract class WindowStrategy<W extends Marked> implements Strategy {

    final int size;
    final long[] capacity;
    final long[] period;
    /**
     * The first limit's figures, for {@link #decideOne}: read from an array, each would cost a
     * range check that C2 compiles into a deoptimization stub of its own, and the hot path's
     * compiled size decides whether it inlines into the caller (see {@link #decideOne}).
     */
    final long firstCapacity;
    final long firstPeriod;
    private final long idleNanos;
    private final LongFunction<W> freshWindow;
    private final IntFunction<W[]> newArray;

    /**
     * @param idlePeriods how many of its longest period a key must stay untouched to be fresh again
     * @param freshWindow one limit's window as a key first seen at the given time has it
     * @param newArray    an array of windows of the given length
     */
    WindowStrategy(Policy policy, int idlePeriods, LongFunction<W> freshWindow, IntFunction<W[]> newArray) {
        this.freshWindow = freshWindow;
        this.newArray = newArray;
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
        firstCapacity = capacity[0];
        firstPeriod = period[0];
    }

    /** One limit's decision: takes {@code permits} if it allows them, or only reports when {@code consume} is false. */
    abstract Decision decideOne(W window, long now, long permits, boolean consume);

    /** Several limits' decision, all or nothing; the same rules as {@link #decideOne} for each. */
    abstract Decision decideAll(W[] windows, long now, long permits, boolean consume);

    @Override
    public final Object newState(long now) {
        if (size == 1) {
            return freshWindow.apply(now);
        }
        W[] windows = newArray.apply(size);
        for (int i = 0; i < size; i++) {
            windows[i] = freshWindow.apply(now);
        }
        return windows;
    }

    /** A single window marks itself; several are marked by the first, which their decision checks. */
    @Override
    public final void retire(Object state) {
        if (state instanceof Marked window) {
            window.retire();
        } else {
            ((Marked[]) state)[0].retire();
        }
    }

    @Override
    public final long idleNanos() {
        return idleNanos;
    }

    @Override
    public final Decision tryAcquire(Object state, long now, long permits) {
        return decide(state, now, permits, true);
    }

    @Override
    public Decision peek(Object state, long now) {
        return decide(state, now, 1, false);
    }

    @SuppressWarnings("unchecked")
    final Decision decide(Object state, long now, long permits, boolean consume) {
        if (state instanceof Marked) {
            return decideOne((W) state, now, permits, consume);
        }
        return decideAll((W[]) state, now, permits, consume);
    }
}
