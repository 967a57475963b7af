package dev.ratelimit.sample;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.RateLimiter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a traffic pattern through a real limiter on a clock it sets itself, so that minutes of traffic
 * take microseconds and nothing waits. Backs the playground page.
 */
final class Simulator {

    /** Largest limit the playground accepts, which bounds a simulation to 6,000 requests. */
    static final long MAX_LIMIT = 1000;

    /** Longest period the playground accepts. */
    static final Duration MAX_PERIOD = Duration.ofHours(1);

    private Simulator() {
    }

    /** Traffic shapes, as request times in nanoseconds from the start, for a limit of {@code n} per {@code period}. */
    enum Pattern {
        /** Twice the limit, evenly spaced, for three periods. */
        STEADY,
        /** Twice the limit at once at the start of each of three periods. */
        BURST,
        /**
         * One request opens a window at 0; then the limit's worth in the last 1% of that period and
         * again in the first 1% of the next: the boundary burst.
         */
        EDGE;

        long[] arrivals(long n, long period) {
            return switch (this) {
                case STEADY -> spread(0, period * 3, n * 6);
                case BURST -> concat(spread(0, period / 100, n * 2), spread(period, period / 100, n * 2),
                        spread(period * 2, period / 100, n * 2));
                case EDGE -> concat(new long[] {0}, spread(period - period / 100, period / 100, n),
                        spread(period, period / 100, n));
            };
        }

        long durationNanos(long period) {
            return this == EDGE ? period * 2 : period * 3;
        }

        /** {@code count} times spaced evenly over {@code span}, from {@code start}. */
        private static long[] spread(long start, long span, long count) {
            long[] times = new long[(int) count];
            for (int i = 0; i < times.length; i++) {
                times[i] = start + span / count * i;
            }
            return times;
        }

        private static long[] concat(long[]... parts) {
            int size = 0;
            for (long[] part : parts) {
                size += part.length;
            }
            long[] all = new long[size];
            int at = 0;
            for (long[] part : parts) {
                System.arraycopy(part, 0, all, at, part.length);
                at += part.length;
            }
            return all;
        }
    }

    /**
     * One request of the timeline.
     *
     * @param atMillis when it arrived, from the start, for drawing
     * @param admitted whether the limiter admitted it
     */
    record Request(double atMillis, boolean admitted) {
    }

    /**
     * The outcome of a simulation.
     *
     * @param burstWindowMillis a tenth of the period
     * @param largestBurst      the most requests admitted within any {@code burstWindowMillis}: the
     *                          figure that shows a fixed window's boundary burst, nearly twice the
     *                          limit, where a token bucket admits at most its capacity and what
     *                          refills meanwhile
     */
    record Simulation(String algorithm, String pattern, long limit, long periodMillis, long durationMillis,
            List<Request> requests, int admitted, int denied, long burstWindowMillis, int largestBurst) {
    }

    /**
     * Sends {@code pattern} to a limiter of {@code limit} per {@code period} using {@code algorithm}.
     *
     * @throws IllegalArgumentException if the limit is outside 1..{@value #MAX_LIMIT} or the period
     *                                  outside 1 s..1 h
     */
    static Simulation run(Algorithm algorithm, long limit, Duration period, Pattern pattern) {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIMIT + ": " + limit);
        }
        if (period.compareTo(Duration.ofSeconds(1)) < 0 || period.compareTo(MAX_PERIOD) > 0) {
            throw new IllegalArgumentException("period must be between 1s and 1h: " + period);
        }
        long periodNanos = period.toNanos();
        long origin = 1_000_000_000_000L; // any origin will do: limiters read only differences
        AtomicLong now = new AtomicLong(origin);
        RateLimiter limiter = RateLimiter.builder().algorithm(algorithm).limit(Limit.of(limit, period))
                .ticker(now::get).maxKeys(1).build();
        List<Request> requests = new ArrayList<>();
        List<Long> admittedAt = new ArrayList<>();
        for (long at : pattern.arrivals(limit, periodNanos)) {
            now.set(origin + at);
            boolean admitted = limiter.tryAcquire("client").allowed();
            requests.add(new Request(at / 1e6, admitted));
            if (admitted) {
                admittedAt.add(at);
            }
        }
        return new Simulation(algorithm.name().toLowerCase(Locale.ROOT).replace('_', '-'),
                pattern.name().toLowerCase(Locale.ROOT), limit, period.toMillis(),
                pattern.durationNanos(periodNanos) / 1_000_000, requests, admittedAt.size(),
                requests.size() - admittedAt.size(), period.toMillis() / 10, mostWithin(admittedAt, periodNanos / 10));
    }

    /** The most of {@code times} (ascending) within any half-open interval {@code [t, t + span)}. */
    static int mostWithin(List<Long> times, long span) {
        int most = 0;
        int first = 0;
        for (int last = 0; last < times.size(); last++) {
            while (times.get(last) - times.get(first) >= span) {
                first++;
            }
            most = Math.max(most, last - first + 1);
        }
        return most;
    }
}
