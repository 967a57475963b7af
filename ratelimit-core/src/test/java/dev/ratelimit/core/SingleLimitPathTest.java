package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A key under a single limit takes a path of its own in every algorithm (one word or one window,
 * straight-line code, so that its decision inlines and allocates nothing). Giving the same limit
 * twice forces the general path over several limits, which must decide identically; so on the
 * same seeded random traffic the two limiters must return equal decisions, figures included.
 * A failure names its seed and step.
 */
class SingleLimitPathTest {

    static Stream<Arguments> cases() {
        return Stream.of(Algorithm.values()).flatMap(algorithm -> Stream.iterate(1L, seed -> seed + 1).limit(40)
                .map(seed -> Arguments.of(algorithm, seed)));
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("cases")
    void oneLimitDecidesAsTheGeneralPathDoes(Algorithm algorithm, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long permits = 1 + random.nextLong(20);
        long capacity = algorithm == Algorithm.TOKEN_BUCKET || algorithm == Algorithm.LEAKY_BUCKET
                ? permits + random.nextLong(20) : permits;
        long period = Duration.ofMillis(1 + random.nextLong(2_000)).toNanos() + random.nextLong(1_000);
        Limit limit = Limit.of(permits, Duration.ofNanos(period)).withCapacity(capacity);
        ManualTicker ticker = new ManualTicker(random.nextLong());
        RateLimiter one = RateLimiter.builder().algorithm(algorithm).limit(limit).ticker(ticker).build();
        RateLimiter twice = RateLimiter.builder().algorithm(algorithm).limit(limit).limit(limit).ticker(ticker).build();

        long retry = 0; // the last denial's, so that steps land exactly on and just before it
        for (int step = 0; step < 2_000; step++) {
            int move = random.nextInt(20);
            if (move == 2 || move == 3) {
                ticker.advanceNanos(move == 2 ? retry : Math.max(retry - 1, 0));
            } else if (move == 0) {
                ticker.advanceNanos(-random.nextLong(period)); // a ticker that jumps back
            } else if (move > 5) {
                ticker.advanceNanos(random.nextLong(2 * period / capacity + 1));
            } else if (move == 1) {
                ticker.advanceNanos(random.nextLong(3 * period)); // long enough to roll windows over
            }
            String where = algorithm + " seed " + seed + ", step " + step;
            int what = random.nextInt(50);
            if (what == 0) {
                one.reset("k");
                twice.reset("k");
            } else if (what < 5) {
                assertThat(one.peek("k")).as(where + ": peek").isEqualTo(twice.peek("k"));
            } else {
                long take = 1 + random.nextLong(Math.min(capacity, 3));
                Decision decision = one.tryAcquire("k", take);
                assertThat(decision).as(where + ": tryAcquire " + take).isEqualTo(twice.tryAcquire("k", take));
                retry = decision.allowed() ? retry : decision.retryAfterNanos();
            }
        }
    }
}
