package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The record refuses impossible figures, each with the message that names it. */
class DecisionTest {

    @Test
    void eachImpossibleFigureIsNamed() {
        assertThatThrownBy(() -> new Decision(true, -1, 10, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("remaining must not be negative: -1");
        assertThatThrownBy(() -> new Decision(true, 0, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("limit must be positive: 0");
        assertThatThrownBy(() -> new Decision(false, 0, 10, -5, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("retryAfterNanos must be zero when allowed and not negative: -5");
        assertThatThrownBy(() -> new Decision(true, 0, 10, 7, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("retryAfterNanos must be zero when allowed and not negative: 7");
        assertThatThrownBy(() -> new Decision(false, 0, 10, 7, Long.MIN_VALUE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("resetAfterNanos must not be negative: " + Long.MIN_VALUE);
    }

    @Test
    void possibleFiguresAreKept() {
        new Decision(false, 0, 1, Long.MAX_VALUE, Long.MAX_VALUE);
        new Decision(true, Long.MAX_VALUE, Long.MAX_VALUE, 0, 0);
    }
}
