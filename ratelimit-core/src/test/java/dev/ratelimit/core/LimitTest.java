package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LimitTest {

    @Test
    void ofGivesCapacityEqualToPermits() {
        assertThat(Limit.of(10, Duration.ofMinutes(1))).isEqualTo(new Limit(10, Duration.ofMinutes(1), 10));
        assertThat(Limit.of(5, Duration.ofSeconds(1)).withCapacity(10).capacity()).isEqualTo(10);
        assertThat(Limit.of(10, Duration.ofMinutes(1))).hasToString("10/PT1M");
        assertThat(Limit.of(5, Duration.ofSeconds(1)).withCapacity(10)).hasToString("5/PT1S (capacity 10)");
    }

    @Test
    void badValuesNameTheParameterAndTheValue() {
        assertThatThrownBy(() -> Limit.of(0, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("permits must be between 1 and 1000000000000: 0");
        assertThatThrownBy(() -> Limit.of(-5, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageEndingWith(": -5");
        assertThatThrownBy(() -> Limit.of(10, Duration.ofSeconds(1)).withCapacity(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("capacity must be between 1 and 1000000000000: 0");
        assertThatThrownBy(() -> Limit.of(1_000_000_000_001L, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("permits must be between");
        assertThatThrownBy(() -> Limit.of(10, Duration.ofNanos(999_999)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("period must be between 1ms and 365d: PT0.000999999S");
        assertThatThrownBy(() -> Limit.of(10, Duration.ofDays(366)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("period must be between 1ms and 365d: PT8784H");
        assertThatThrownBy(() -> Limit.of(10, Duration.ofSeconds(-5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("period must be between 1ms and 365d: PT-5S");
        assertThatThrownBy(() -> Limit.of(10, null)).isInstanceOf(NullPointerException.class).hasMessage("period");
    }

    @Test
    void aBuilderNeedsALimit() {
        assertThatThrownBy(() -> RateLimiter.builder().build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("limits must not be empty");
        assertThatThrownBy(() -> RateLimiter.builder().maxKeys(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxKeys must be positive: 0");
        assertThatThrownBy(() -> RateLimiter.builder().limit(null))
                .isInstanceOf(NullPointerException.class).hasMessage("limit");
    }

    @Test
    void aPolicyNamesTheNullLimitInItsList() {
        List<Limit> limits = java.util.Arrays.asList(Limit.of(10, Duration.ofMinutes(1)), null);
        assertThatThrownBy(() -> new Policy(Algorithm.TOKEN_BUCKET, limits))
                .isInstanceOf(NullPointerException.class).hasMessage("limits[1]");
    }

    @Test
    void theSlidingLogRefusesCapacitiesItCannotHoldInMemory() {
        assertThatThrownBy(() -> new Policy(Algorithm.SLIDING_WINDOW_LOG, List.of(Limit.of(2_000_000, Duration.ofHours(1)))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("capacity of limit 2000000/PT1H must be at most 1000000 for SLIDING_WINDOW_LOG");
    }
}
