package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MarkedTest {

    private static final class State extends Marked {
    }

    private static final int EVERY = MemoryRateLimiter.RECORD_EVERY;

    @Test
    void anAccessIsDueOnlyOnceEveryInterval() {
        State state = new State();
        long start = (long) (3 * EVERY) << Marked.SHIFT;
        assertThat(state.due(start, EVERY)).isTrue();
        assertThat(state.due(start + ((long) (EVERY - 1) << Marked.SHIFT), EVERY)).isFalse();
        assertThat(state.due(start + ((long) EVERY << Marked.SHIFT), EVERY)).isTrue();
        assertThat(state.retired()).isFalse();
    }

    @Test
    void aRetiredStateIsAlwaysDueAndStaysRetired() {
        State state = new State();
        long now = (long) (5 * EVERY) << Marked.SHIFT;
        assertThat(state.due(now, EVERY)).isTrue();
        state.retire();
        assertThat(state.retired()).isTrue();
        // Within the interval of the last mark, and after it: a recording must never un-retire it.
        assertThat(state.due(now + 1, EVERY)).isTrue();
        assertThat(state.due(now + ((long) EVERY << Marked.SHIFT), EVERY)).isTrue();
        assertThat(state.retired()).isTrue();
    }

    @Test
    void theMarkThatWouldReadAsRetiredIsTakenOneUnitEarlier() {
        State state = new State();
        long now = (long) Integer.MIN_VALUE << Marked.SHIFT; // its mark is the reserved value
        assertThat(state.due(now, EVERY)).isTrue();
        assertThat(state.retired()).isFalse();
        assertThat(state.due(now, EVERY)).as("recorded one unit earlier, so not due again yet").isFalse();
    }
}
