package dev.ratelimit.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The request sequences of {@code AlgorithmPropertiesTest.aDenialLeavesNoTrace}, shared so that
 * the Redis scripts are checked on the very sequences that caught a denial leaving a trace in core:
 * one to three limits of very different periods, and time moving on in whole seconds, often past a
 * fast limit's period while a slow one denies.
 */
public final class DenialTraceSequences {

    private DenialTraceSequences() {
    }

    /** The limits, drawn first from {@code random}. */
    public static List<Limit> limits(SplittableRandom random) {
        List<Limit> limits = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            long permits = 2 + random.nextLong(40);
            limits.add(Limit.of(permits, Duration.ofSeconds(5 + random.nextLong(i == 0 ? 55 : 1_800))));
        }
        return limits;
    }

    /** How far time moves before the next request. */
    public static Duration step(SplittableRandom random) {
        return Duration.ofSeconds(random.nextInt(4) == 0 ? random.nextInt(200) : random.nextInt(5));
    }
}
