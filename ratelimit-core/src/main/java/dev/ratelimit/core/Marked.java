package dev.ratelimit.core;

/**
 * A key state that remembers when the cache last recorded an access to it.
 *
 * <p>Recording an access in Caffeine (for expiry and for its eviction policy) costs more than a
 * token-bucket decision, so the limiter records a key's access only when the last recording is
 * older than {@link MemoryRateLimiter#RECORD_EVERY_NANOS}, and otherwise reads quietly. The mark
 * is a coarse time (units of 2^20 ns, about a millisecond) in an {@code int}, which fits in the
 * four bytes of padding after the object header, so it costs a single-limit state (a token
 * bucket's cell, a fixed or sliding counter's window) no memory. Writes are plain:
 * a lost or stale mark only causes one extra recording.
 */
abstract class Marked {

    /** Coarse time units per nanosecond shift. */
    static final int SHIFT = 20;

    int recorded;

    /**
     * Whether an access at {@code now} should be recorded, marking it if so. Wrapping {@code int}
     * arithmetic is exact while marks are less than 2^31 units (about 26 days) apart, which the
     * limiter guarantees by sampling only when keys expire sooner than that.
     */
    final boolean due(long now, int every) {
        int mark = (int) (now >> SHIFT);
        int age = mark - recorded;
        if (age >= 0 && age < every) {
            return false;
        }
        recorded = mark;
        return true;
    }
}
