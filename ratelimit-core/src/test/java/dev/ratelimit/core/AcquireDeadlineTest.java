package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code acquire} over a store whose calls take time of their own, as a Redis round trip does (up
 * to its command timeout): what is left of {@code maxWait} is what is left after the call, so no
 * sleep for a {@code retryAfter} ends past {@code maxWait}. Time is a {@link ManualTicker} that the
 * store's calls and the sleeper move on.
 */
class AcquireDeadlineTest {

    private static final long MS = 1_000_000;

    /** The in-memory limiter on {@code ticker}, each call of which takes {@code callNanos} on it. */
    private static final class SlowStore extends AbstractRateLimiter {
        private final MemoryRateLimiter memory;
        private final ManualTicker ticker;
        private final long callNanos;
        private boolean interruptInReserve;

        SlowStore(Algorithm algorithm, Limit limit, ManualTicker ticker, Sleeper sleeper, long callNanos) {
            super(new Policy(algorithm, List.of(limit)), ticker, sleeper);
            this.memory = (MemoryRateLimiter) RateLimiter.builder().algorithm(algorithm).limit(limit).ticker(ticker).build();
            this.ticker = ticker;
            this.callNanos = callNanos;
        }

        @Override
        public Decision tryAcquire(String key, long permits) {
            Decision decision = memory.tryAcquire(key, permits);
            ticker.advanceNanos(callNanos);
            return decision;
        }

        @Override
        protected Reservation reserve(String key, long permits, long maxWaitNanos) {
            Reservation reservation = memory.reserve(key, permits, maxWaitNanos);
            if (interruptInReserve) {
                Thread.currentThread().interrupt(); // as a caller interrupted during a store's call
            }
            return reservation;
        }

        @Override
        public Decision peek(String key) {
            return memory.peek(key);
        }

        @Override
        public void reset(String key) {
            memory.reset(key);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = "LEAKY_BUCKET", mode = EnumSource.Mode.EXCLUDE)
    void noSleepForARetryAfterEndsPastMaxWaitWhenTheCallTookTime(Algorithm algorithm) throws InterruptedException {
        ManualTicker ticker = new ManualTicker(Long.MAX_VALUE - 100 * MS); // and across the ticker's wrap
        List<Long> sleepEnds = new ArrayList<>();
        long start = ticker.read();
        Sleeper sleeper = nanos -> {
            ticker.advanceNanos(nanos);
            sleepEnds.add(ticker.read() - start);
        };
        // 10 a second, emptied: a token comes back within 100 ms, and a window's permits within
        // 200 ms when they are waited for from 900 ms into the second. Each call takes 250 ms.
        SlowStore store = new SlowStore(algorithm, Limit.of(10, Duration.ofSeconds(1)), ticker, sleeper, 250 * MS);
        store.memory.tryAcquire("k", 10); // at once, not at the cost of a call
        if (algorithm != Algorithm.TOKEN_BUCKET) {
            ticker.advanceNanos(900 * MS);
        }
        // A wait that fits maxWait as the call begins, but not the 50 ms the call leaves of it.
        assertThat(store.memory.tryAcquire("k", 1).retryAfterNanos()).as("the wait before the call")
                .isBetween(51 * MS, 300 * MS);
        long begun = ticker.read();

        Decision decision = store.acquire("k", 1, Duration.ofMillis(300));

        // The call left 50 ms of maxWait; the wait it reported no longer fits, so it is not slept.
        assertThat(decision.allowed()).isFalse();
        assertThat(sleepEnds).as("ends of sleeps, from the start").isEmpty();
        assertThat(ticker.read() - begun).as("returned after the one call").isEqualTo(250 * MS);
    }

    @Test
    void aWaitThatStillFitsAfterTheCallIsSleptAndAdmitted() throws InterruptedException {
        ManualTicker ticker = new ManualTicker();
        java.util.concurrent.atomic.AtomicLong slept = new java.util.concurrent.atomic.AtomicLong();
        SlowStore store = new SlowStore(Algorithm.TOKEN_BUCKET, Limit.of(10, Duration.ofSeconds(1)), ticker,
                ticker.sleeper(slept), 150 * MS);
        store.memory.tryAcquire("k", 10); // at once, not at the cost of a call
        long begun = ticker.read();

        Decision decision = store.acquire("k", 1, Duration.ofMillis(300));

        // 150 ms left after the first call; its 100 ms wait fits, and the next call admits.
        assertThat(decision.allowed()).isTrue();
        assertThat(slept.get()).isEqualTo(100 * MS);
        assertThat(ticker.read() - begun).isEqualTo(400 * MS);
    }

    /**
     * A slot that needs no wait, reserved while the caller was interrupted: the permit is taken, so
     * the admission stands and the flag stays set for the caller, rather than an
     * {@code InterruptedException} that would lose the permit.
     */
    @Test
    void anAdmissionWithoutWaitTakenWhileInterruptedStandsWithTheFlagSet() throws InterruptedException {
        ManualTicker ticker = new ManualTicker();
        SlowStore store = new SlowStore(Algorithm.LEAKY_BUCKET, Limit.of(2, Duration.ofSeconds(1)), ticker,
                Sleeper.system(), 0);
        store.interruptInReserve = true;
        try {
            Decision decision = store.acquire("k", 1, Duration.ofSeconds(1));
            assertThat(decision.allowed()).isTrue();
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(store.peek("k").remaining()).as("the admission's permit was taken").isEqualTo(1);
    }
}
