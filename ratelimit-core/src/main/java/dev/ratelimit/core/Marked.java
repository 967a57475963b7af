package dev.ratelimit.core;

import java.lang.invoke.VarHandle;

/**
 * A key state that remembers when the cache last recorded an access to it, and whether the cache
 * has let it go.
 *
 * <p>Recording an access in Caffeine (for expiry and for its eviction policy) costs more than a
 * token-bucket decision, so the limiter records a key's access only when the last recording is
 * older than {@link MemoryRateLimiter#RECORD_EVERY_NANOS}, and otherwise reads quietly. The mark
 * is a coarse time (units of 2^20 ns, about a millisecond) in an {@code int}, which fits in the
 * four bytes of padding after the object header, so it costs a single-limit state (a token
 * bucket's cell, a fixed or sliding counter's window) no memory.
 *
 * <p>The same {@code int} says that the state is {@link #retire retired}: the cache evicted it, so
 * permits taken from it would count nowhere. A field of its own would grow a token bucket's cell
 * from 24 bytes to 32, so retirement is one reserved value that no mark takes. Marks are written
 * by CAS, and only when an access is recorded (about four times a second for a busy key), so that
 * a mark written from a stale reading can never overwrite the retirement.
 */
abstract class Marked {

    /** Coarse time units per nanosecond shift. */
    static final int SHIFT = 20;

    /** The value of {@link #recorded} once retired; a mark that would equal it is taken one unit earlier. */
    private static final int RETIRED = Integer.MIN_VALUE;

    private static final VarHandle RECORDED = Handles.field(Marked.class, "recorded", int.class);

    int recorded;

    /**
     * Whether an access at {@code now} should be recorded, marking it if so. Wrapping {@code int}
     * arithmetic is exact while marks are less than 2^31 units (about 26 days) apart, which the
     * limiter guarantees by sampling only when keys expire sooner than that. A retired state is
     * always due: the lookup that records it then finds the key's new state instead.
     */
    final boolean due(long now, int every) {
        int mark = (int) (now >> SHIFT);
        int last = recorded;
        int age = mark - last;
        if (last == RETIRED) {
            return true;
        }
        if (age >= 0 && age < every) {
            return false;
        }
        // One unit early rather than the reserved value: the next recording comes sooner, never later.
        // A failed CAS lost to another recording, or to the retirement, which must stay.
        RECORDED.compareAndSet(this, last, mark == RETIRED ? mark - 1 : mark);
        return true;
    }

    /**
     * Marks this state as no longer the key's: called by the cache as it evicts the state, before
     * the key can be found without it.
     */
    final void retire() {
        RECORDED.setVolatile(this, RETIRED);
    }

    /**
     * Whether the cache has evicted this state; asked by a consuming decision after its write (see
     * {@link Strategy#RETIRED}).
     */
    final boolean retired() {
        return (int) RECORDED.getVolatile(this) == RETIRED;
    }
}
