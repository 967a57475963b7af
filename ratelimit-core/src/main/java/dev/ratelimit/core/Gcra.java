package dev.ratelimit.core;

import dev.ratelimit.core.AbstractRateLimiter.Reservation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;

/**
 * The exact arithmetic that the token bucket and the leaky bucket share: the generic cell rate
 * algorithm, where one number per limit replaces a token count and a refill timestamp.
 *
 * <h2>Representation</h2>
 * A limit of {@code n} permits per {@code P} nanoseconds is first reduced by {@code gcd(n, P)} to
 * {@code n'/P'}. One permit then takes {@code P'/n'} nanoseconds to refill, which is rarely whole,
 * so time is counted in units of {@code 1/n'} ns: "scaled" time is {@code t * n'}. The state of a
 * limit is {@code tat}, the scaled time at which the bucket will be full again (for the leaky
 * bucket: at which its queue will be empty). At scaled time {@code s} the <em>deficit</em> is
 * {@code d = max(0, tat - s)}; the bucket holds exactly {@code C - d/P'} tokens (a rational), so
 * {@code floor} of it is {@code C - ceil(d/P')}, and taking {@code k} permits adds {@code k * P'}
 * to {@code tat}. All of this is integer arithmetic; nothing is rounded, which is why decisions
 * agree with Bucket4j's greedy refill, whose fractional "rounding error" is the same rational.
 *
 * <h2>Narrow and wide limits</h2>
 * When {@code span = C * P'} (the deficit of an empty bucket) fits in 61 bits and {@code n'} in
 * 16 bits, the limits are "narrow" and {@code long}s suffice. A single narrow limit's {@code tat}
 * is a scaled time that wraps modulo 2<sup>64</sup>: only the difference {@code tat - s} is ever
 * used, and it is exact while the true difference stays within ±2<sup>63</sup>. An idle key
 * expires after about {@code span/n'} ns, which bounds it below. A ticker that jumps back by
 * {@code b} raises it to at most {@code span + b*n'}, which wraps once {@code b} nears
 * {@code (2^63 - span)/n'} (29.3 hours at worst, not 2^63/n'): so {@link #maxBackNanos} is half
 * that, and the limiter decides a reading further back as that far back. The bucket then reads
 * empty, as it would at any earlier time, so no decision changes; only retryAfter and resetAfter
 * stop growing with the step. Several narrow limits keep each {@code tat} as an offset from its
 * last take instead (see {@link NarrowLanes}), exact for any step. Other limits (say one permit a
 * year with a capacity of 10<sup>12</sup>) are "wide": the same formulas in {@link BigInteger},
 * slower and exact.
 *
 * <h2>Concurrency</h2>
 * A single narrow limit is one {@code long} updated by CAS: each attempt reads {@code tat}, decides
 * from that value alone, and publishes {@code tat + k*P'} only if {@code tat} is unchanged, so no
 * two requests can spend the same tokens. A failed CAS means another request made progress, so the
 * loop is lock-free. Several limits must be updated together (all-or-nothing), so they sit in one
 * array whose monitor guards them; it is per key, so keys never contend.
 */
abstract class Gcra implements Strategy {

    private static final long NARROW_SPAN = 1L << 61;
    private static final long NARROW_RATE = 1L << 16;

    private final int size;
    private final long[] capacity;
    private final long[] rate;      // n'
    private final long[] cost;      // P': scaled time one permit takes
    private final long[] span;      // C * P', narrow limits only
    private final long[] refill;    // ceil(span / n'): nanoseconds an empty narrow limit takes to refill
    /**
     * The first limit's figures, for the single-limit {@link Cell}: read from the arrays, each
     * would cost a range check that C2 compiles into a deoptimization stub of its own, and the
     * hot path's compiled size decides whether it inlines into the caller, so that its Decision
     * is never allocated.
     */
    private final long cellCapacity;
    private final long cellRate;
    private final long cellCost;
    private final long cellSpan;
    private final boolean narrow;
    private final boolean shaper;
    private final long idleNanos;
    private final long maxBackNanos;

    /**
     * @param shaper true for the leaky bucket: a request goes only when every queue is empty (or,
     *               when reserving, waits until then); false for the token bucket: a request goes
     *               whenever the tokens are there
     */
    Gcra(List<Limit> limits, boolean shaper) {
        this.size = limits.size();
        this.shaper = shaper;
        this.capacity = new long[size];
        this.rate = new long[size];
        this.cost = new long[size];
        this.span = new long[size];
        this.refill = new long[size];
        boolean allNarrow = true;
        long idle = 0;
        for (int i = 0; i < size; i++) {
            Limit limit = limits.get(i);
            long period = limit.periodNanos();
            long gcd = BigInteger.valueOf(limit.permits()).gcd(BigInteger.valueOf(period)).longValueExact();
            capacity[i] = limit.capacity();
            rate[i] = limit.permits() / gcd;
            cost[i] = period / gcd;
            long s = Exact.mulSat(capacity[i], cost[i]);
            span[i] = s;
            refill[i] = Exact.ceilDiv(s, rate[i]);
            allNarrow &= s <= NARROW_SPAN && rate[i] <= NARROW_RATE;
            idle = Math.max(idle, Exact.mulDivCeil(capacity[i], cost[i], rate[i]));
        }
        this.narrow = allNarrow;
        this.cellCapacity = capacity[0];
        this.cellRate = rate[0];
        this.cellCost = cost[0];
        this.cellSpan = span[0];
        // Only the single cell counts in scaled time. Half the step back that would wrap it, the
        // other half for readings that race; at least span/n' (as span <= 2^61), so it reads empty there.
        this.maxBackNanos = narrow && size == 1 ? (Long.MAX_VALUE - cellSpan) / cellRate / 2 : Long.MAX_VALUE;
        this.idleNanos = Exact.capExpiry(Exact.addSat(idle, 1));
    }

    @Override
    public final long idleNanos() {
        return idleNanos;
    }

    /** For a single narrow limit: the step back within which {@code tat - s} cannot wrap (see the class comment). */
    @Override
    public final long maxBackNanos() {
        return maxBackNanos;
    }

    @Override
    public final Object newState(long now) {
        if (!narrow) {
            return new WideLanes(now);
        }
        return size == 1 ? new Cell(now * cellRate) : new NarrowLanes(now);
    }

    @Override
    public final Decision tryAcquire(Object state, long now, long permits) {
        if (state instanceof Cell cell) {
            return tryCell(cell, now, permits);
        }
        return ((Lanes) state).evaluate(now, permits, 0, true);
    }

    @Override
    public final void retire(Object state) {
        if (state instanceof Cell cell) {
            cell.retire();
        } else {
            ((Lanes) state).retired = true;
        }
    }

    @Override
    public final Decision peek(Object state, long now) {
        if (state instanceof Cell cell) {
            long d = cell.tat - now * cellRate;
            return cellDecision(false, Math.max(d, 0), 1, true);
        }
        return ((Lanes) state).evaluate(now, 1, 0, false);
    }

    /** Reserves a slot up to {@code maxWaitNanos} away; only the leaky bucket queues. */
    final Reservation reserveSlot(Object state, long now, long permits, long maxWaitNanos) {
        if (state instanceof Cell cell) {
            return reserveCell(cell, now, permits, maxWaitNanos);
        }
        Lanes lanes = (Lanes) state;
        synchronized (lanes) {
            long wait = lanes.waitNanos(now);
            Decision decision = lanes.evaluate(now, permits, maxWaitNanos, true);
            return new Reservation(decision.allowed() ? wait : 0, decision);
        }
    }

    // ---- one narrow limit: a single word updated by CAS ----

    /**
     * Builds its {@link Decision} in one place after the loop: an admission and a denial that each
     * built their own would meet at the return, and C2 (before JDK 22) does not scalar-replace an
     * allocation that merges with another, so any caller seeing both outcomes (two threads racing
     * for the leaky bucket's slot) would allocate every decision.
     */
    private Decision tryCell(Cell cell, long now, long permits) {
        long scaledNow = now * cellRate;
        long take = permits * cellCost;
        long d;
        boolean ok;
        for (;;) {
            long tat = cell.tat;
            d = Math.max(tat - scaledNow, 0);
            ok = shaper ? d == 0 : d <= cellSpan - take;
            if (!ok || cell.compareAndSet(tat, scaledNow + d + take)) {
                break;
            }
        }
        if (cell.retired()) {
            return RETIRED;
        }
        return cellDecision(ok, ok ? d + take : d, permits, false);
    }

    private Reservation reserveCell(Cell cell, long now, long permits, long maxWaitNanos) {
        long scaledNow = now * cellRate;
        long take = permits * cellCost;
        for (;;) {
            long tat = cell.tat;
            long d = Math.max(tat - scaledNow, 0);
            long wait = Exact.ceilDiv(d, cellRate);
            // The slot starts on a whole nanosecond, now + wait, exactly as Lanes.take does for
            // several limits, so one rule (and the Redis script) serves both.
            long start = Exact.mulSat(wait, cellRate);
            if (wait > maxWaitNanos || start > cellSpan - take) {
                return new Reservation(0, cellDecision(false, d, permits, false));
            }
            if (cell.compareAndSet(tat, scaledNow + start + take)) {
                if (cell.retired()) {
                    return new Reservation(0, RETIRED);
                }
                return new Reservation(wait, cellDecision(true, start + take, permits, false));
            }
        }
    }

    /**
     * The figures of a single narrow limit whose deficit is {@code d} once the decision is made:
     * after taking {@code permits} when {@code taken}, otherwise as it stands.
     */
    private Decision cellDecision(boolean taken, long d, long permits, boolean peek) {
        long available = d >= cellSpan ? 0 : cellCapacity - Exact.ceilDiv(d, cellCost);
        long drain = Exact.ceilDiv(d, cellRate);
        long retry = 0;
        if (!taken) {
            long excess = d - (cellSpan - permits * cellCost);
            retry = shaper ? drain : (excess <= 0 ? 0 : Exact.ceilDiv(excess, cellRate));
        }
        boolean allowed = taken || (peek && retry == 0);
        return new Decision(allowed, available, cellCapacity, allowed ? 0 : retry, drain);
    }

    /** A single narrow limit's {@code tat}; its access mark fits in the object's padding. */
    static final class Cell extends Marked {
        private static final VarHandle TAT;

        static {
            try {
                TAT = MethodHandles.lookup().findVarHandle(Cell.class, "tat", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        volatile long tat;

        Cell(long tat) {
            this.tat = tat;
        }

        boolean compareAndSet(long expected, long next) {
            return TAT.compareAndSet(this, expected, next);
        }
    }

    // ---- several limits, or wide ones: all-or-nothing under the key's monitor ----

    /**
     * Several limits of one key. Subclasses hold each {@code tat} as an offset from its
     * {@link #base}; every method must be called while holding this object's monitor, which
     * {@link #evaluate} takes.
     */
    abstract class Lanes {
        /**
         * Per limit, the time of its last take (or the key's first request), from which its
         * {@code tat} counts: only differences of readings enter the arithmetic.
         */
        final long[] base = new long[size];

        /** Set by {@link #retire}, from inside the cache's eviction; read after a take. */
        volatile boolean retired;

        Lanes(long now) {
            Arrays.fill(base, now);
        }

        /** Whole tokens limit {@code i} holds at {@code now}. */
        abstract long available(int i, long now);

        /** Whether limit {@code i} can take {@code permits} once its deficit is at least {@code waitNanos} worth. */
        abstract boolean fits(int i, long now, long waitNanos, long permits);

        /** Nanoseconds until limit {@code i} holds {@code permits} tokens. */
        abstract long shortfallNanos(int i, long now, long permits);

        /** Nanoseconds until limit {@code i} is full (its queue empty). */
        abstract long drainNanos(int i, long now);

        /** Takes {@code permits} from limit {@code i}, starting no earlier than {@code now + waitNanos}. */
        abstract void take(int i, long now, long waitNanos, long permits);

        final long waitNanos(long now) {
            long wait = 0;
            if (shaper) {
                for (int i = 0; i < size; i++) {
                    wait = Math.max(wait, drainNanos(i, now));
                }
            }
            return wait;
        }

        final synchronized Decision evaluate(long now, long permits, long maxWaitNanos, boolean consume) {
            long wait = waitNanos(now);
            boolean ok = wait <= maxWaitNanos;
            long retry = shaper ? wait : 0;
            for (int i = 0; i < size; i++) {
                if (!fits(i, now, ok ? wait : 0, permits)) {
                    ok = false;
                    if (!shaper) {
                        retry = Math.max(retry, shortfallNanos(i, now, permits));
                    }
                }
            }
            if (ok && consume) {
                for (int i = 0; i < size; i++) {
                    take(i, now, wait, permits);
                }
                if (retired) {
                    return RETIRED;
                }
            }
            long remaining = Long.MAX_VALUE;
            long binding = capacity[0];
            long reset = 0;
            for (int i = 0; i < size; i++) {
                long available = available(i, now);
                if (available < remaining) {
                    remaining = available;
                    binding = capacity[i];
                }
                reset = Math.max(reset, drainNanos(i, now));
            }
            return new Decision(ok, remaining, binding, ok ? 0 : retry, reset);
        }
    }

    /**
     * Each limit's {@code tat} as an offset from the time of its last take, not as a scaled
     * time: a key held for a year by a slow limit leaves a fast one idle far longer than its
     * scaled time can count in 64 bits (at 65,521 units a nanosecond, 39 hours), and the offset
     * never exceeds {@code span} while the elapsed time stays in nanoseconds.
     */
    final class NarrowLanes extends Lanes {
        /** Per limit, {@code tat - base * n'}: at most span, as every take fits. */
        private final long[] offset = new long[size];

        NarrowLanes(long now) {
            super(now);
        }

        private long deficit(int i, long now) {
            long elapsed = now - base[i];
            if (elapsed < 0) {
                // a ticker that jumped back: the deficit only grows, saturating rather than wrapping
                return Exact.addSat(offset[i], Exact.mulSat(-elapsed, rate[i]));
            }
            // past span/n' every offset has refilled; below it the product stays under span + n'
            return elapsed >= refill[i] ? 0 : Math.max(offset[i] - elapsed * rate[i], 0);
        }

        @Override
        long available(int i, long now) {
            long d = deficit(i, now);
            return d >= span[i] ? 0 : capacity[i] - Exact.ceilDiv(d, cost[i]);
        }

        @Override
        boolean fits(int i, long now, long waitNanos, long permits) {
            long d = Math.max(deficit(i, now), Exact.mulSat(waitNanos, rate[i]));
            return d <= span[i] - permits * cost[i];
        }

        @Override
        long shortfallNanos(int i, long now, long permits) {
            long excess = deficit(i, now) - (span[i] - permits * cost[i]);
            return excess <= 0 ? 0 : Exact.ceilDiv(excess, rate[i]);
        }

        @Override
        long drainNanos(int i, long now) {
            return Exact.ceilDiv(deficit(i, now), rate[i]);
        }

        @Override
        void take(int i, long now, long waitNanos, long permits) {
            // fits() held for this wait, so the deficit is at most span and nothing saturates here
            long d = Math.max(deficit(i, now), Exact.mulSat(waitNanos, rate[i]));
            base[i] = now;
            offset[i] = d + permits * cost[i];
        }
    }

    /**
     * As {@link NarrowLanes}, but with offsets in {@link BigInteger}. Only the difference of two
     * readings enters them, so a ticker crossing {@code Long.MAX_VALUE} is just time moving on.
     */
    final class WideLanes extends Lanes {
        /** Per limit, {@code tat - base * n'}. */
        private final BigInteger[] offset = new BigInteger[size];

        WideLanes(long now) {
            super(now);
            Arrays.fill(offset, BigInteger.ZERO);
        }

        private BigInteger deficit(int i, long now) {
            BigInteger elapsed = BigInteger.valueOf(now - base[i]).multiply(BigInteger.valueOf(rate[i]));
            return offset[i].subtract(elapsed).max(BigInteger.ZERO);
        }

        /** The deficit a take starting {@code waitNanos} from now would start from. */
        private BigInteger deficitAt(int i, long now, long waitNanos) {
            return deficit(i, now).max(BigInteger.valueOf(waitNanos).multiply(BigInteger.valueOf(rate[i])));
        }

        private BigInteger room(int i, long permits) {
            return BigInteger.valueOf(capacity[i] - permits).multiply(BigInteger.valueOf(cost[i]));
        }

        private static long ceilDiv(BigInteger a, long b) {
            BigInteger[] qr = a.divideAndRemainder(BigInteger.valueOf(b));
            return Exact.saturate(qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE));
        }

        @Override
        long available(int i, long now) {
            return Math.max(capacity[i] - ceilDiv(deficit(i, now), cost[i]), 0);
        }

        @Override
        boolean fits(int i, long now, long waitNanos, long permits) {
            return deficitAt(i, now, waitNanos).compareTo(room(i, permits)) <= 0;
        }

        @Override
        long shortfallNanos(int i, long now, long permits) {
            BigInteger excess = deficit(i, now).subtract(room(i, permits));
            return excess.signum() <= 0 ? 0 : ceilDiv(excess, rate[i]);
        }

        @Override
        long drainNanos(int i, long now) {
            return ceilDiv(deficit(i, now), rate[i]);
        }

        @Override
        void take(int i, long now, long waitNanos, long permits) {
            BigInteger start = deficitAt(i, now, waitNanos);
            base[i] = now;
            offset[i] = start.add(BigInteger.valueOf(permits).multiply(BigInteger.valueOf(cost[i])));
        }
    }
}
