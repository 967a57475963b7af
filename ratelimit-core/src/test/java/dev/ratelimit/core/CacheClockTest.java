package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Caffeine's clock: published only a step ahead, never moved back, the decision's time clamped to
 * {@code maxBack} behind it; and never more than a step behind a reading whose observe returned,
 * which the expiry allows for: further behind, a key looked up by that decision could expire
 * before its state is full again and come back full.
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

    /**
     * Two requests read the ticker 40 ms apart (the earlier one held up between its reading and
     * its publishing) and both find the clock more than a step behind. Whichever of the two wins
     * the race to publish, once a request's observe has returned the clock is within a step of
     * its reading: when the earlier reading was published first, the later one must still be
     * published. The requests start a seeded, varying number of pauses apart, so that some rounds
     * interleave their reads and publishes; without the retry this failed within a few dozen rounds.
     */
    @Test
    @Timeout(60)
    void aReadingThatLosesTheRaceToAnEarlierOneIsStillPublished() throws InterruptedException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int rounds = 200_000;
        int[] delays = new int[rounds + 1];
        for (int r = 1; r <= rounds; r++) {
            delays[r] = random.nextInt(64);
        }
        CacheClock clock = new CacheClock(0);
        AtomicInteger started = new AtomicInteger();
        AtomicInteger finished = new AtomicInteger();
        AtomicLong behind = new AtomicLong(-1);
        AtomicInteger badRound = new AtomicInteger();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        Thread later = new Thread(() -> {
            for (int r = 1; r <= rounds; r++) {
                while (started.get() < r) {
                    if (System.nanoTime() > deadline) {
                        return;
                    }
                    Thread.onSpinWait();
                }
                long reading = r * 100 * MILLIS + 50 * MILLIS;
                clock.observe(reading, Long.MAX_VALUE);
                long lag = reading - clock.read();
                if (lag > CacheClock.STEP_NANOS && behind.get() < 0) {
                    behind.set(lag);
                    badRound.set(r);
                }
                finished.set(r);
            }
        });
        later.start();
        int r = 1;
        for (; r <= rounds && System.nanoTime() < deadline; r++) {
            started.set(r);
            for (int pause = 0; pause < delays[r]; pause++) {
                Thread.onSpinWait();
            }
            long reading = r * 100 * MILLIS + 10 * MILLIS; // read before the other's, published now
            clock.observe(reading, Long.MAX_VALUE);
            while (finished.get() < r && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
        }
        later.join();
        assertThat(behind.get()).as("Caffeine's clock behind the later reading in round %d (seed %d, %d rounds run)",
                badRound.get(), seed, r - 1).isNegative();
        assertThat(finished.get()).as("rounds the later thread finished, seed %d", seed).isPositive();
    }
}
