package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Caffeine's clock: published only a step ahead, never moved back, and the decision's time clamped
 * to {@code maxBack} behind it.
 */
class CacheClockTest {

    private static final long MILLIS = Duration.ofMillis(1).toNanos();

    @Test
    void publishesOnlyAStepAheadAndNeverMovesBack() {
        CacheClock clock = new CacheClock(0);
        assertThat(clock.observe(10 * MILLIS, Long.MAX_VALUE)).isEqualTo(10 * MILLIS);
        assertThat(clock.read()).isEqualTo(10 * MILLIS);
        assertThat(clock.observe(10 * MILLIS + CacheClock.STEP_NANOS, Long.MAX_VALUE)).as("within a step")
                .isEqualTo(10 * MILLIS + CacheClock.STEP_NANOS);
        assertThat(clock.read()).as("not published within a step").isEqualTo(10 * MILLIS);
        assertThat(clock.observe(5 * MILLIS, Long.MAX_VALUE)).as("a reading behind").isEqualTo(5 * MILLIS);
        assertThat(clock.read()).as("never moved back").isEqualTo(10 * MILLIS);
        assertThat(clock.observe(5 * MILLIS, MILLIS)).as("a reading further back than maxBack").isEqualTo(9 * MILLIS);
    }
}
