package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Threads race on one key of a fixed window while the ticker crosses many window boundaries: the
 * lock-free single-limit path must neither lose a permit (a window would admit more than its
 * capacity) nor count one twice (it would admit fewer), also when several threads find the window
 * ended at once and race to open the next. The limit given twice runs the locked general path as a
 * reference.
 *
 * <p>The ticker moves only between phases (by the last thread to arrive at the barrier), so every request of a phase
 * reads the same time and the test knows its window: a phase at or past the current window's end
 * opens a new one (its first request is always admitted), any other phase counts in the current
 * one, including a ticker that stepped backwards. Requests take one permit, so a window denies
 * only once it is full: each window admits exactly {@code min(capacity, demand)}. A failure names its seed.
 */
@Timeout(60)
class WindowRaceTest {

    private static final int THREADS = 8;
    private static final int PHASES = 1_500;
    private static final long CAPACITY = 64;
    private static final long PERIOD = Duration.ofMillis(1).toNanos();

    static Stream<Arguments> cases() {
        return Stream.of(1, 2).flatMap(limits -> Stream.of(11L, 12L, 13L, System.nanoTime())
                .map(seed -> Arguments.of(limits, seed)));
    }

    @ParameterizedTest(name = "{0} limit(s), seed {1}")
    @MethodSource("cases")
    void everyWindowAdmitsExactlyItsCapacityOrItsDemand(int limits, long seed) throws Exception {
        System.out.println("WindowRaceTest: " + limits + " limit(s), seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        // Per phase: how many requests each thread makes, and the ticker's step before it.
        int[] perThread = new int[PHASES];
        long[] steps = new long[PHASES];
        for (int phase = 0; phase < PHASES; phase++) {
            perThread[phase] = 1 + random.nextInt(16);
            int kind = random.nextInt(10);
            steps[phase] = kind == 0 ? -random.nextLong(PERIOD / 2) // a ticker that jumps back
                    : kind < 4 ? PERIOD // a boundary, often exactly, so threads race to open the next window
                    : random.nextLong(PERIOD / 2);
        }

        ManualTicker ticker = new ManualTicker(random.nextLong());
        Limit limit = Limit.of(CAPACITY, Duration.ofNanos(PERIOD));
        RateLimiter.Builder builder = RateLimiter.builder().algorithm(Algorithm.FIXED_WINDOW).ticker(ticker);
        for (int i = 0; i < limits; i++) {
            builder.limit(limit);
        }
        RateLimiter limiter = builder.build();

        AtomicLongArray admitted = new AtomicLongArray(PHASES);
        // A spinning barrier, not a parking one: woken one by one, threads would seldom meet on the
        // first requests of a phase, which are the ones that race to open the next window.
        AtomicInteger arrived = new AtomicInteger();
        AtomicInteger started = new AtomicInteger(-1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                futures.add(pool.submit(() -> {
                    for (int phase = 0; phase < PHASES; phase++) {
                        if (arrived.incrementAndGet() == (phase + 1) * THREADS) {
                            ticker.advanceNanos(steps[phase]);
                            started.set(phase);
                        }
                        while (started.get() < phase) {
                            assertThat(System.nanoTime() - deadline).as("seed %d: phase %d stalled", seed, phase)
                                    .isNegative();
                            Thread.yield();
                        }
                        long taken = 0;
                        for (int i = 0; i < perThread[phase]; i++) {
                            Decision decision = limiter.tryAcquire("hot-key");
                            assertThat(decision.remaining()).isBetween(0L, CAPACITY);
                            taken += decision.allowed() ? 1 : 0;
                        }
                        admitted.addAndGet(phase, taken);
                    }
                    return null;
                }));
            }
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        // Replays the windows from the phases' times.
        long now = ticker.read();
        for (int phase = PHASES - 1; phase >= 0; phase--) {
            now -= steps[phase];
        }
        long end = now; // a fresh key's window has ended
        long demand = 0;
        long taken = 0;
        int windows = 0;
        for (int phase = 0; phase < PHASES; phase++) {
            now += steps[phase];
            if (now - end >= 0) {
                assertThat(taken).as("seed %d, window ending before phase %d", seed, phase)
                        .isEqualTo(Math.min(CAPACITY, demand));
                end = now + PERIOD;
                demand = 0;
                taken = 0;
                windows++;
            }
            demand += (long) THREADS * perThread[phase];
            taken += admitted.get(phase);
        }
        assertThat(taken).as("seed %d, last window", seed).isEqualTo(Math.min(CAPACITY, demand));
        assertThat(windows).as("seed %d: windows crossed", seed).isGreaterThan(300);
    }
}
