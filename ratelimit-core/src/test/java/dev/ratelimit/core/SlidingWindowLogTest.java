package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The sliding log's own machinery, below the limiter: its sequence lock's slow path and its ring's
 * growth. What it decides is tested against a model in {@link AlgorithmPropertiesTest}.
 */
class SlidingWindowLogTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    static LongStream seeds() {
        return LongStream.rangeClosed(1, 20);
    }

    /**
     * A holder that keeps the lock past the spin budget (its thread lost its core) makes a decision
     * wait in the slow path, yielding, rather than spin on or give up; once the holder lets go it
     * is made exactly once. Both the consuming decision and a peek, which takes the lock on an
     * empty log.
     */
    @Test
    void aDecisionWaitsOutAHolderPastTheSpinBudgetAndCountsOnce() throws Exception {
        SlidingWindowLog strategy = new SlidingWindowLog(new Policy(Algorithm.SLIDING_WINDOW_LOG,
                List.of(Limit.of(3, Duration.ofSeconds(1)))));
        long now = 5 * SECOND;
        SlidingWindowLog.Log log = (SlidingWindowLog.Log) strategy.newState(now);

        int held = log.lock();
        assertThat(held & 1).as("a held lock's sequence is odd").isEqualTo(1);
        assertThat(log.lock()).as("a lock held past the spin budget gives up, taking nothing").isZero();

        Waiting<Decision> peek = Waiting.start(() -> strategy.peek(log, now));
        Waiting<Decision> take = Waiting.start(() -> strategy.tryAcquire(log, now, 1));
        peek.awaitInSlowPath();
        take.awaitInSlowPath();
        log.unlock(held);

        assertThat(take.decided().allowed()).isTrue();
        assertThat(take.decided().remaining()).isEqualTo(2);
        assertThat(peek.decided().remaining()).as("before or after the take, never anything else").isIn(2L, 3L);
        assertThat(strategy.peek(log, now).remaining()).as("one permit taken, once").isEqualTo(2);
        assertThat(log.lock()).as("and the lock free again").isOdd();
    }

    /**
     * The ring holds the entries in the window, at most one per permit, and keeps one pair free;
     * it grows only when those fill it, so never past the smallest power of two of at least
     * capacity + 2 pairs, however long the traffic, however it wraps; under several limits too.
     */
    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void theRingGrowsNoFurtherThanTheCapacityNeeds(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long capacity = 1 + random.nextLong(200);
        long period = 1 + random.nextLong(SECOND);
        boolean several = random.nextBoolean();
        List<Limit> limits = several
                ? List.of(Limit.of(capacity, Duration.ofNanos(period)), Limit.of(capacity * 3, Duration.ofNanos(period * 2)))
                : List.of(Limit.of(capacity, Duration.ofNanos(period)));
        SlidingWindowLog strategy = new SlidingWindowLog(new Policy(Algorithm.SLIDING_WINDOW_LOG, limits));
        long now = random.nextLong();
        Object state = strategy.newState(now);
        SlidingWindowLog.Log[] logs = several ? (SlidingWindowLog.Log[]) state
                : new SlidingWindowLog.Log[] {(SlidingWindowLog.Log) state};
        long admitted = 0;

        for (int step = 0; step < 20_000; step++) {
            now += random.nextInt(4) == 0 ? 0 : random.nextLong(2 * period / capacity + 1);
            if (strategy.tryAcquire(state, now, 1).allowed()) {
                admitted++;
            }
            for (int i = 0; i < logs.length; i++) {
                long bound = Long.highestOneBit(limits.get(i).capacity() + 1) << 1;
                assertThat((long) logs[i].slots()).as("seed " + seed + ", step " + step + ", limit " + i
                        + ", capacity " + limits.get(i).capacity()).isLessThanOrEqualTo(Math.max(bound, 4));
            }
        }
        assertThat(admitted).as("seed " + seed + ": traffic that fills the log").isGreaterThan(capacity);
        // It starts with four pairs, which hold three entries: more than two permits must grow it.
        assertThat(logs[0].slots() > 4).as("seed " + seed + ": grown, capacity " + capacity).isEqualTo(capacity > 2);
    }

    /** A decision on another thread, and a way to see it waiting in the lock's slow path. */
    private record Waiting<T>(Thread thread, AtomicReference<T> outcome) {

        static <T> Waiting<T> start(Supplier<T> decision) {
            AtomicReference<T> result = new AtomicReference<>();
            Thread thread = new Thread(() -> result.set(decision.get()));
            thread.setDaemon(true);
            thread.start();
            return new Waiting<>(thread, result);
        }

        void awaitInSlowPath() {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (Arrays.stream(thread.getStackTrace()).noneMatch(frame -> frame.getMethodName().equals("slowPath"))) {
                assertThat(System.nanoTime() - deadline).as("waiting in slowPath within 10 s").isNegative();
                assertThat(outcome.get()).as("decided while the lock was held").isNull();
                Thread.onSpinWait();
            }
        }

        T decided() throws InterruptedException {
            thread.join(10_000);
            assertThat(thread.isAlive()).as("decided once the lock was free").isFalse();
            return outcome.get();
        }
    }
}
