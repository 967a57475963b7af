package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Threads race on one key of a fixed window, sliding counter or sliding log while the ticker crosses
 * many window boundaries: the single-limit paths (lock-free, or the log's optimistic reads) must
 * neither lose a permit (a window would admit more than its capacity) nor count one twice (it
 * would admit fewer), also when several threads find the window ended at once and race to open
 * the next.
 *
 * <p>The ticker moves only between phases (by the last thread to arrive at the barrier), so every
 * request of a phase reads the same time, and each takes one permit: within a phase the window only
 * fills, so a phase admits exactly {@code min(demand, room)}, what the same requests made one by one
 * would. The reference makes them one by one on the locked general path (the limit given twice),
 * which {@link SingleLimitPathTest} shows decides as a single limit does. A failure names its seed.
 *
 * <p>All threads of a phase read the same time there, so none counts in an epoch being sealed:
 * {@link #lateThreadsCountInTheOldWindowOrRetryInTheNew} gives half of them a time before the
 * boundary, and sealing is also checked step by step.
 */
@Timeout(60)
class WindowRaceTest {

    private static final int THREADS = 8;
    private static final int PHASES = 1_500;
    private static final long CAPACITY = 64;
    private static final long PERIOD = Duration.ofMillis(1).toNanos();

    /** For the step-by-step sealing tests: a sliding counter's strategy, a key's first request at {@code START}. */
    private static final SlidingWindowCounter COUNTER = new SlidingWindowCounter(
            new Policy(Algorithm.SLIDING_WINDOW_COUNTER, List.of(Limit.of(CAPACITY, Duration.ofNanos(PERIOD)))));
    private static final long START = 1_000;

    static Stream<Arguments> cases() {
        return Stream.of(Algorithm.FIXED_WINDOW, Algorithm.SLIDING_WINDOW_COUNTER, Algorithm.SLIDING_WINDOW_LOG)
                .flatMap(algorithm -> Stream.of(1, 2)
                .flatMap(limits -> Stream.of(11L, 12L, 13L, System.nanoTime())
                        .map(seed -> Arguments.of(algorithm, limits, seed))));
    }

    @ParameterizedTest(name = "{0}, {1} limit(s), seed {2}")
    @MethodSource("cases")
    void everyPhaseAdmitsWhatSequentialRequestsWould(Algorithm algorithm, int limits, long seed) throws Exception {
        System.out.println("WindowRaceTest: " + algorithm + ", " + limits + " limit(s), seed " + seed);
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

        long origin = random.nextLong();
        ManualTicker ticker = new ManualTicker(origin);
        RateLimiter limiter = limiter(algorithm, limits, ticker);

        AtomicLongArray admitted = new AtomicLongArray(PHASES);
        inPhases(seed, phase -> ticker.advanceNanos(steps[phase]), (thread, phase) -> {
            long taken = 0;
            // Time stands still within a phase, so the room one thread sees, by peeking or
            // taking, only shrinks: a peek that read a torn or stale state would break that.
            long room = CAPACITY;
            for (int i = 0; i < perThread[phase]; i++) {
                Decision peeked = limiter.peek("hot-key");
                assertThat(peeked.remaining()).as("seed %d, phase %d, peek", seed, phase).isBetween(0L, room);
                Decision decision = limiter.tryAcquire("hot-key");
                assertThat(decision.remaining()).as("seed %d, phase %d", seed, phase).isBetween(0L, peeked.remaining());
                room = decision.remaining();
                taken += decision.allowed() ? 1 : 0;
            }
            admitted.addAndGet(phase, taken);
        });

        // Within a phase time stands still and each request takes one permit, so the window only
        // fills: a phase admits min(demand, room), as the same requests made one by one would.
        ManualTicker alone = new ManualTicker(origin);
        RateLimiter reference = limiter(algorithm, 2, alone);
        int rolls = 0;
        long previousEnd = Long.MIN_VALUE;
        for (int phase = 0; phase < PHASES; phase++) {
            alone.advanceNanos(steps[phase]);
            long taken = 0;
            Decision last = null;
            for (long i = 0; i < (long) THREADS * perThread[phase]; i++) {
                last = reference.tryAcquire("hot-key");
                taken += last.allowed() ? 1 : 0;
            }
            assertThat(admitted.get(phase)).as("seed %d, phase %d", seed, phase).isEqualTo(taken);
            long end = alone.read() + last.resetAfterNanos();
            rolls += end != previousEnd && taken > 0 ? 1 : 0;
            previousEnd = end;
        }
        assertThat(rolls).as("seed %d: phases that moved the window", seed).isGreaterThan(300);
    }

    /**
     * Threads that read their times just before a window boundary race the ones that roll it: a
     * late increment must land in the old window before its count is carried over (the sliding
     * counter seals it), or fail and retry. Each phase that crosses a boundary gives half the
     * threads a time just before it and half a time past it; the test snapshots the window's
     * epoch between phases (a phase rolls at most once) and checks that every admitted permit is
     * in exactly one epoch's final count, that none exceeds the capacity, and that a sliding
     * counter's successor carried its predecessor's final count. A failure names its seed.
     */
    @ParameterizedTest(name = "{0}, seed {1}")
    @MethodSource("lateCases")
    void lateThreadsCountInTheOldWindowOrRetryInTheNew(Algorithm algorithm, long seed) throws Exception {
        System.out.println("WindowRaceTest late threads: " + algorithm + ", seed " + seed);
        SplittableRandom random = new SplittableRandom(seed);
        int[] perThread = new int[PHASES];
        long[] steps = new long[PHASES];
        long[] lags = new long[PHASES];
        for (int phase = 0; phase < PHASES; phase++) {
            perThread[phase] = 1 + random.nextInt(16);
            steps[phase] = 1 + random.nextLong(PERIOD); // at most a period: a phase rolls at most once
            lags[phase] = random.nextLong(PERIOD / 4);
        }
        Policy policy = new Policy(algorithm, List.of(Limit.of(CAPACITY, Duration.ofNanos(PERIOD))));
        WindowStrategy<?> strategy = algorithm == Algorithm.FIXED_WINDOW
                ? new FixedWindow(policy) : new SlidingWindowCounter(policy);
        long[] times = {random.nextLong(), 0}; // on time, late: written before a phase starts
        Object state = strategy.newState(times[0]);
        List<Object> epochs = new ArrayList<>();
        AtomicLong admitted = new AtomicLong();
        // The key's first request opens its first window, so that every phase starts in a real
        // one: a late time before a fixed window's placeholder would open a window of its own, and
        // the on-time threads a second within the same phase.
        admitted.addAndGet(strategy.tryAcquire(state, times[0], 1).allowed() ? 1 : 0);
        inPhases(seed, phase -> {
            Object epoch = epochOf(state);
            if (epochs.isEmpty() || epochs.get(epochs.size() - 1) != epoch) {
                epochs.add(epoch);
            }
            times[0] += steps[phase];
            long due = epoch instanceof FixedWindow.Epoch fixed ? fixed.end
                    : ((SlidingWindowCounter.Epoch) epoch).start + PERIOD;
            times[1] = times[0] - due >= 0 ? due - 1 - lags[phase] : times[0];
        }, (thread, phase) -> {
            long now = times[thread % 2];
            for (int i = 0; i < perThread[phase]; i++) {
                admitted.addAndGet(strategy.tryAcquire(state, now, 1).allowed() ? 1 : 0);
            }
        });
        Object last = epochOf(state);
        if (epochs.get(epochs.size() - 1) != last) {
            epochs.add(last);
        }

        long counted = 0;
        for (int i = 0; i < epochs.size(); i++) {
            long count = countOf(epochs.get(i));
            assertThat(count).as("seed %d, epoch %d", seed, i).isBetween(0L, CAPACITY);
            counted += count;
            if (i > 0 && epochs.get(i) instanceof SlidingWindowCounter.Epoch next) {
                assertThat(next.previous).as("seed %d, epoch %d: previous count", seed, i)
                        .isIn(0L, countOf(epochs.get(i - 1)));
            }
        }
        assertThat(counted).as("seed %d: permits in epochs", seed).isEqualTo(admitted.get());
        assertThat(epochs.size()).as("seed %d: epochs", seed).isGreaterThan(300);
    }

    static Stream<Arguments> lateCases() {
        return Stream.of(Algorithm.FIXED_WINDOW, Algorithm.SLIDING_WINDOW_COUNTER)
                .flatMap(algorithm -> Stream.of(21L, 22L, 23L, System.nanoTime()).map(seed -> Arguments.of(algorithm, seed)));
    }

    private static Object epochOf(Object state) {
        return state instanceof FixedWindow.Window window ? window.epoch : ((SlidingWindowCounter.Counter) state).epoch;
    }

    private static long countOf(Object epoch) {
        return epoch instanceof FixedWindow.Epoch fixed ? fixed.count
                : ((SlidingWindowCounter.Epoch) epoch).current & ~SlidingWindowCounter.Epoch.SEALED;
    }

    /** One thread's requests in one phase. */
    private interface PhaseBody {
        void run(int thread, int phase);
    }

    /**
     * Runs {@code body} on {@link #THREADS} threads phase by phase; the last thread to arrive runs
     * {@code between} before the phase starts. A spinning barrier, not a parking one: woken one by
     * one, threads would seldom meet on the first requests of a phase, which race to roll the window.
     */
    private static void inPhases(long seed, IntConsumer between, PhaseBody body) throws Exception {
        AtomicInteger arrived = new AtomicInteger();
        AtomicInteger started = new AtomicInteger(-1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int phase = 0; phase < PHASES; phase++) {
                        if (arrived.incrementAndGet() == (phase + 1) * THREADS) {
                            between.accept(phase);
                            started.set(phase);
                        }
                        while (started.get() < phase) {
                            assertThat(System.nanoTime() - deadline).as("seed %d: phase %d stalled", seed, phase)
                                    .isNegative();
                            Thread.yield();
                        }
                        body.run(thread, phase);
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
    }

    private static RateLimiter limiter(Algorithm algorithm, int limits, ManualTicker ticker) {
        Limit limit = Limit.of(CAPACITY, Duration.ofNanos(PERIOD));
        RateLimiter.Builder builder = RateLimiter.builder().algorithm(algorithm).ticker(ticker);
        for (int i = 0; i < limits; i++) {
            builder.limit(limit);
        }
        return builder.build();
    }

    /**
     * A thread that read the sliding counter's epoch just before another rolled it must not add
     * its permit to the old epoch once its count was carried over: the successor's previous count
     * would miss it, and the next window over-admit. Sealing makes that increment fail and retry.
     */
    @Test
    void aSealedCountTakesNoMorePermits() {
        SlidingWindowCounter.Counter counter = (SlidingWindowCounter.Counter) COUNTER.newState(START);
        COUNTER.tryAcquire(counter, START, 5);
        SlidingWindowCounter.Epoch old = counter.epoch;
        long seen = old.current; // a late thread reads the count, then stalls

        assertThat(COUNTER.tryAcquire(counter, START + PERIOD, 1).allowed()).isTrue(); // rolls
        assertThat(counter.epoch).isNotSameAs(old);
        assertThat(counter.epoch.previous).isEqualTo(5);
        assertThat(old.add(seen, 1)).as("an increment on the replaced epoch").isFalse();
    }

    /**
     * A fixed window's key is created by its first request, with a placeholder epoch that ends at
     * that request's time. A request that read the ticker a little earlier and then lost the race
     * to the lookup (or a ticker that stepped back) decides on the placeholder first: it is the
     * key's first admitted request, so it must open the key's first window, of a whole period. Had
     * it counted in the placeholder, which has no room in time, the creator would open a second
     * window an instant later and a full capacity more would pass within a microsecond.
     */
    @ParameterizedTest(name = "{0} limit(s)")
    @ValueSource(ints = {1, 2})
    void aRequestReadBeforeTheKeyWasCreatedOpensItsFirstWindow(int limits) {
        Limit limit = Limit.of(CAPACITY, Duration.ofNanos(PERIOD));
        FixedWindow fixed = new FixedWindow(new Policy(Algorithm.FIXED_WINDOW, limits == 1 ? List.of(limit) : List.of(limit, limit)));
        Object state = fixed.newState(START); // the creator's reading
        assertThat(fixed.tryAcquire(state, START - 1_000, CAPACITY).allowed()).as("the late request").isTrue();

        Decision creator = fixed.tryAcquire(state, START, 1);
        assertThat(creator.allowed()).as("%s: the window the late request opened is full", creator).isFalse();
        assertThat(creator.retryAfterNanos()).as("until that window ends").isEqualTo(PERIOD - 1_000);
    }

    /** A roller that sealed and stalled before publishing blocks nobody: the next request finishes the roll. */
    @Test
    void aStalledRollIsFinishedByTheNextRequest() {
        SlidingWindowCounter.Counter counter = (SlidingWindowCounter.Counter) COUNTER.newState(START);
        COUNTER.tryAcquire(counter, START, 5);
        SlidingWindowCounter.Epoch old = counter.epoch;
        assertThat(old.seal(5)).isTrue(); // sealed, not yet replaced

        // A late thread (its time still in the old window) finishes the roll at the window's end.
        Decision decision = COUNTER.tryAcquire(counter, START + PERIOD - 1, 1);
        assertThat(counter.epoch).isNotSameAs(old);
        assertThat(counter.epoch.start).isEqualTo(START + PERIOD);
        assertThat(counter.epoch.previous).isEqualTo(5);
        // Its time precedes the new window, which weighs the previous window fully: 64 - 5 - 1.
        assertThat(decision.allowed()).isTrue();
        assertThat(decision.remaining()).isEqualTo(CAPACITY - 6);
    }
}
