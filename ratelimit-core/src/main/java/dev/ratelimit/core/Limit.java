package dev.ratelimit.core;

import java.time.Duration;
import java.util.Objects;

/**
 * One limit: {@code permits} per {@code period}, with room for bursts of up to {@code capacity}.
 *
 * <p>{@code Limit.of(10, Duration.ofMinutes(1))} allows 10 permits a minute with a capacity of
 * 10; {@code .withCapacity(20)} keeps the rate and lets a full bucket absorb a burst of 20.
 * Periods range from 1 ms to 365 days; permits and capacity from 1 to 10<sup>12</sup>.
 *
 * @param permits  how many permits one period replenishes
 * @param period   the length of the period
 * @param capacity the most permits that can be held, and so the largest burst
 */
public record Limit(long permits, Duration period, long capacity) {

    /** The largest permitted {@code permits} or {@code capacity}. */
    public static final long MAX_CAPACITY = 1_000_000_000_000L;

    /** The shortest permitted period. */
    public static final Duration MIN_PERIOD = Duration.ofMillis(1);

    /** The longest permitted period. */
    public static final Duration MAX_PERIOD = Duration.ofDays(365);

    /**
     * Validates the limit.
     *
     * @throws IllegalArgumentException naming the parameter and the value when one is out of range
     * @throws NullPointerException     if {@code period} is null
     */
    public Limit {
        Objects.requireNonNull(period, "period");
        if (permits <= 0 || permits > MAX_CAPACITY) {
            throw new IllegalArgumentException("permits must be between 1 and " + MAX_CAPACITY + ": " + permits);
        }
        if (capacity <= 0 || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("capacity must be between 1 and " + MAX_CAPACITY + ": " + capacity);
        }
        if (period.compareTo(MIN_PERIOD) < 0 || period.compareTo(MAX_PERIOD) > 0) {
            throw new IllegalArgumentException("period must be between 1ms and 365d: " + period);
        }
    }

    /** Returns a limit of {@code permits} per {@code period}, with a capacity of {@code permits}. */
    public static Limit of(long permits, Duration period) {
        return new Limit(permits, period, permits);
    }

    /** Returns this limit with the same rate and a capacity of {@code capacity}. */
    public Limit withCapacity(long capacity) {
        return new Limit(permits, period, capacity);
    }

    /** The period in nanoseconds; never overflows, as the period is at most 365 days. */
    public long periodNanos() {
        return period.toNanos();
    }

    /** Returns {@code 10/PT1M}, or {@code 5/PT1S (capacity 10)} when the capacity differs. */
    @Override
    public String toString() {
        return permits + "/" + period + (capacity == permits ? "" : " (capacity " + capacity + ")");
    }
}
