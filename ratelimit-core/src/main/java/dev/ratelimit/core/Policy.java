package dev.ratelimit.core;

import java.util.List;
import java.util.Objects;

/**
 * What a limiter enforces: an algorithm and one or more limits that must all admit a request.
 *
 * <p>Every store (in memory, Redis) validates requests through the same policy, so they reject
 * the same bad input with the same messages.
 *
 * @param algorithm how the limits are enforced
 * @param limits    the limits, at least one; a request must satisfy all of them
 */
public record Policy(Algorithm algorithm, List<Limit> limits) {

    /** The most entries the sliding log keeps for one key and limit. */
    public static final long MAX_LOG_CAPACITY = 1_000_000;

    /**
     * Validates the policy.
     *
     * @throws IllegalArgumentException if there is no limit, or a sliding-log capacity is too large
     * @throws NullPointerException     if an argument or a limit is null
     */
    public Policy {
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(limits, "limits");
        // List.copyOf would throw too, but without saying which argument held the null.
        for (int i = 0; i < limits.size(); i++) {
            Objects.requireNonNull(limits.get(i), "limits[" + i + "]");
        }
        limits = List.copyOf(limits);
        if (limits.isEmpty()) {
            throw new IllegalArgumentException("limits must not be empty: a limiter needs at least one limit");
        }
        if (algorithm == Algorithm.SLIDING_WINDOW_LOG) {
            for (Limit limit : limits) {
                if (limit.capacity() > MAX_LOG_CAPACITY) {
                    throw new IllegalArgumentException("capacity of limit " + limit + " must be at most "
                            + MAX_LOG_CAPACITY + " for SLIDING_WINDOW_LOG, which keeps up to one entry per permit;"
                            + " use SLIDING_WINDOW_COUNTER for large limits");
                }
            }
        }
    }

    /**
     * Checks one request before it touches any state, so that bad input consumes nothing.
     *
     * @throws NullPointerException     if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is blank, {@code permits} is not positive, or
     *                                  {@code permits} exceeds a capacity and so could never be admitted
     */
    public void check(String key, long permits) {
        checkKey(key);
        if (permits <= 0) {
            throw new IllegalArgumentException("permits must be positive: " + permits);
        }
        for (Limit limit : limits) {
            if (permits > limit.capacity()) {
                throw new IllegalArgumentException("permits " + permits + " exceed capacity " + limit.capacity()
                        + " of limit " + limit);
            }
        }
    }

    /**
     * Checks a key.
     *
     * @throws NullPointerException     if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is blank
     */
    public static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isBlank()) {
            throw new IllegalArgumentException("key must not be blank: \"" + key + "\"");
        }
    }
}
