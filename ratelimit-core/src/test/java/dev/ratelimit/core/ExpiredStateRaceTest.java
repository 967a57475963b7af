package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Cache;
import dev.ratelimit.core.AbstractRateLimiter.Reservation;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A decision that found its key's state, and decides on it only after the cache has expired that
 * state and the key has a new one, must not count on the old state: nobody reads it again, so
 * its permits would be taken from nowhere. (In production the same happens when a request looks
 * its key up at the instant the key expires and another request replaces it; here the test holds
 * the state's monitor, which several limits decide under, to make that interleaving certain.)
 */
class ExpiredStateRaceTest {

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aDecisionOnAStateReplacedMeanwhileIsMadeOnTheKeysCurrentState(Algorithm algorithm) throws Exception {
        ManualTicker ticker = new ManualTicker();
        MemoryRateLimiter limiter = (MemoryRateLimiter) RateLimiter.builder().algorithm(algorithm)
                .limits(List.of(Limit.of(2, Duration.ofSeconds(1)), Limit.of(10, Duration.ofSeconds(10))))
                .ticker(ticker).build();
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        Object old = states(limiter).policy().getIfPresentQuietly("k");
        assertThat(old).isNotNull();
        ticker.advance(Duration.ofSeconds(1)); // every algorithm, the leaky bucket too, would admit one now

        AtomicReference<Decision> late = new AtomicReference<>();
        Thread stalled = new Thread(() -> late.set(limiter.tryAcquire("k")));
        synchronized (old) {
            stalled.start();
            while (stalled.getState() != Thread.State.BLOCKED) {
                Thread.onSpinWait();
            }
            // Long enough for every algorithm's idle window and the cache's slack: the key expires.
            ticker.advance(Duration.ofSeconds(30));
            assertThat(limiter.tryAcquire("k", 2).allowed()).as("a fresh key").isTrue();
            assertThat(states(limiter).policy().getIfPresentQuietly("k")).isNotSameAs(old);
        }
        stalled.join(10_000);

        assertThat(late.get().allowed()).as("a third permit of 2 per second, with no time gone by").isFalse();
        assertThat(limiter.tryAcquire("k").allowed()).isFalse();
    }

    /**
     * A single limit's state is lock-free, so no monitor can hold its decision; a strategy wrapped
     * around the real one stops the late request after its lookup instead, and the state it found
     * expires meanwhile. Its decision must then be made on the key's new state.
     */
    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aSingleLimitDecisionOnAStateExpiredMeanwhileIsMadeOnTheKeysCurrentState(Algorithm algorithm) throws Exception {
        ManualTicker ticker = new ManualTicker();
        Stall stall = new Stall();
        MemoryRateLimiter limiter = stall.limiter(new Policy(algorithm, List.of(Limit.of(2, Duration.ofSeconds(1)))), ticker);
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        Object old = states(limiter).policy().getIfPresentQuietly("k");
        assertThat(old).isInstanceOf(Marked.class);
        ticker.advance(Duration.ofSeconds(1)); // every algorithm, the leaky bucket too, would admit one now

        AtomicReference<Decision> late = new AtomicReference<>();
        stall.start(() -> late.set(limiter.tryAcquire("k")));
        ticker.advance(Duration.ofSeconds(30)); // past every algorithm's idle window and the cache's slack
        assertThat(limiter.tryAcquire("k", 2).allowed()).as("a fresh key").isTrue();
        assertThat(states(limiter).policy().getIfPresentQuietly("k")).isNotSameAs(old);
        stall.resumeAndJoin();

        assertThat(late.get().allowed()).as("a third permit of 2 per second, with no time gone by").isFalse();
        assertThat(limiter.tryAcquire("k").allowed()).isFalse();
    }

    /**
     * The cache's size bound evicts too, through the same listener: a decision stopped after its
     * lookup while the bound drops the key's state must count on the state the key has afterwards
     * (a fresh one, as for any evicted key), not on the dropped one, where nobody would see it.
     */
    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aDecisionOnAStateEvictedBySizeMeanwhileCountsOnTheKeysCurrentState(Algorithm algorithm) throws Exception {
        for (List<Limit> limits : List.of(List.of(Limit.of(2, Duration.ofSeconds(1))),
                List.of(Limit.of(2, Duration.ofSeconds(1)), Limit.of(10, Duration.ofSeconds(10))))) {
            ManualTicker ticker = new ManualTicker();
            Stall stall = new Stall();
            Policy policy = new Policy(algorithm, limits);
            MemoryRateLimiter limiter = stall.limiter(policy, ticker);
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            Object old = states(limiter).policy().getIfPresentQuietly("k");

            AtomicReference<Decision> late = new AtomicReference<>();
            stall.start(() -> late.set(limiter.tryAcquire("k")));
            var bound = states(limiter).policy().eviction().orElseThrow();
            bound.setMaximum(0); // evicts every key, by size, at once
            bound.setMaximum(1_000);
            assertThat(states(limiter).policy().getIfPresentQuietly("k")).as(limits + ": evicted").isNull();
            stall.resumeAndJoin();

            // What the key's new state would say, before and after the late request's permit.
            RateLimiter fresh = RateLimiter.builder().algorithm(algorithm).limits(limits).ticker(ticker).build();
            Decision untouched = fresh.peek("k");
            Decision expected = fresh.tryAcquire("k");
            if (limits.size() == 1) {
                assertThat(late.get()).as(limits + ": decided on the key's new state").isEqualTo(expected);
            }
            // Several limits read the mark only after a take (see Strategy.RETIRED): a denial from
            // the dropped state, which took nothing, stands. Either way nothing is lost.
            assertThat(limiter.peek("k")).as(limits + ": " + late.get() + " counted on the key's new state")
                    .isEqualTo(late.get().allowed() ? fresh.peek("k") : untouched);
            assertThat(states(limiter).policy().getIfPresentQuietly("k")).isNotSameAs(old);
        }
    }

    @org.junit.jupiter.api.Test
    void aSingleLimitLeakyBucketSlotReservedOnAStateExpiredMeanwhileIsReservedOnTheKeysCurrentState() throws Exception {
        ManualTicker ticker = new ManualTicker();
        Stall stall = new Stall();
        MemoryRateLimiter limiter = stall.limiter(
                new Policy(Algorithm.LEAKY_BUCKET, List.of(Limit.of(1, Duration.ofSeconds(1)).withCapacity(1))), ticker);
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        Object old = states(limiter).policy().getIfPresentQuietly("k");
        ticker.advance(Duration.ofSeconds(1));

        AtomicReference<Decision> late = new AtomicReference<>();
        stall.start(() -> {
            try {
                late.set(limiter.acquire("k", 1, Duration.ZERO));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        ticker.advance(Duration.ofSeconds(30));
        assertThat(limiter.tryAcquire("k").allowed()).as("a fresh key").isTrue();
        assertThat(states(limiter).policy().getIfPresentQuietly("k")).isNotSameAs(old);
        stall.resumeAndJoin();

        assertThat(late.get().allowed()).as("a second slot at once, one a second").isFalse();
    }

    /**
     * The sliding log, 2 per 10 s, admits at 0 s and 5 s. A request reads 8 s and is held after its
     * lookup; meanwhile a denied request at 12 s drops the entry of 0 s. Decided at 8 s on what was
     * left, the held request was admitted and counted from 8 s: three permits in (−2 s, 8 s]. It
     * is decided as of 12 s instead, when the 0 s entry has left: admitted, and counted from 12 s
     * (full again 14 s after its own reading), so no period holds three. With one limit (the
     * lock-free log) and two (the logs under one monitor).
     */
    @ParameterizedTest(name = "{0} limit(s)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void aSlidingLogDecisionReadBeforeAnotherDroppedEntriesIsMadeAsOfThatDrop(int count) throws Exception {
        ManualTicker ticker = new ManualTicker();
        Stall stall = new Stall();
        MemoryRateLimiter limiter = stall.limiter(new Policy(Algorithm.SLIDING_WINDOW_LOG, twoPerTenSeconds(count)), ticker);
        admitAtZeroAndFiveSeconds(limiter, ticker);
        ticker.advance(Duration.ofSeconds(3));

        AtomicReference<Decision> late = new AtomicReference<>();
        stall.start(() -> late.set(limiter.tryAcquire("k")));
        ticker.advance(Duration.ofSeconds(4));
        assertThat(limiter.tryAcquire("k", 2).allowed()).as("2 at 12 s beside the 5 s entry").isFalse();
        stall.resumeAndJoin();

        assertThat(late.get()).isEqualTo(countedFromTwelveSeconds(count));
        assertThat(limiter.tryAcquire("k").allowed()).as("at 12 s, beside 5 s and the late one").isFalse();
    }

    /**
     * The same without threads: a denial at 12 s drops the 0 s entry, and the ticker steps back to
     * 8 s. The log's time does not go back with it: the request is decided as of 12 s, and the
     * next one finds both permits taken until the 5 s entry leaves, 7 s on.
     */
    @ParameterizedTest(name = "{0} limit(s)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void aSlidingLogDecisionAfterAStepBackBehindADenialThatDroppedEntriesIsMadeAsOfTheDenial(int count) {
        ManualTicker ticker = new ManualTicker();
        RateLimiter limiter = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_LOG).limits(twoPerTenSeconds(count))
                .ticker(ticker).build();
        admitAtZeroAndFiveSeconds(limiter, ticker);
        ticker.advance(Duration.ofSeconds(7));
        assertThat(limiter.tryAcquire("k", 2).allowed()).as("2 at 12 s beside the 5 s entry").isFalse();
        ticker.advance(Duration.ofSeconds(-4));
        assertThat(limiter.tryAcquire("k")).isEqualTo(countedFromTwelveSeconds(count));
        assertThat(limiter.tryAcquire("k").retryAfter()).isEqualTo(Duration.ofSeconds(7));
    }

    /**
     * A peek drops nothing (see SlidingWindowLog#peek), so it moves no time either: after a peek at
     * 12 s and a step back to 8 s, the request is decided at its own reading, beside 0 s and 5 s.
     */
    @ParameterizedTest(name = "{0} limit(s)")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void aSlidingLogDecisionAfterAStepBackBehindAPeekIsMadeAtItsOwnReading(int count) {
        ManualTicker ticker = new ManualTicker();
        RateLimiter limiter = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_LOG).limits(twoPerTenSeconds(count))
                .ticker(ticker).build();
        admitAtZeroAndFiveSeconds(limiter, ticker);
        ticker.advance(Duration.ofSeconds(7));
        assertThat(limiter.peek("k")).isEqualTo(new Decision(true, 1, 2, 0,
                Duration.ofSeconds(count == 1 ? 3 : 3593).toNanos()));
        ticker.advance(Duration.ofSeconds(-4));
        Decision denied = limiter.tryAcquire("k");
        assertThat(denied.allowed()).as("at 8 s, beside 0 s and 5 s").isFalse();
        assertThat(denied.retryAfter()).as("until the 0 s entry leaves").isEqualTo(Duration.ofSeconds(2));
    }

    /** Admitted at a reading of 8 s, counted from 12 s: full again at 22 s, or 12 s + 1 h with the hour's limit. */
    private static Decision countedFromTwelveSeconds(int count) {
        return new Decision(true, 0, 2, 0, Duration.ofSeconds(count == 1 ? 14 : 3604).toNanos());
    }

    /** 2 per 10 s, alone or beside a limit of 100 an hour, which never binds here. */
    private static List<Limit> twoPerTenSeconds(int count) {
        return count == 1 ? List.of(Limit.of(2, Duration.ofSeconds(10)))
                : List.of(Limit.of(2, Duration.ofSeconds(10)), Limit.of(100, Duration.ofHours(1)));
    }

    private static void admitAtZeroAndFiveSeconds(RateLimiter limiter, ManualTicker ticker) {
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        ticker.advance(Duration.ofSeconds(5));
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
    }

    /** Stops one thread's first decision (or reservation) after its lookup, until resumed. */
    private static final class Stall {
        private final CountDownLatch stopped = new CountDownLatch(1);
        private final CountDownLatch resume = new CountDownLatch(1);
        private volatile Thread thread;

        MemoryRateLimiter limiter(Policy policy, ManualTicker ticker) {
            return new MemoryRateLimiter(policy, ticker, nanos -> { }, 1_000, real -> new StallingStrategy(real, this));
        }

        /** Runs {@code request} on a new thread and returns once it has stopped after its lookup. */
        void start(Runnable request) throws InterruptedException {
            thread = new Thread(request);
            thread.start();
            assertThat(stopped.await(10, TimeUnit.SECONDS)).as("the late request stopped after its lookup").isTrue();
        }

        void resumeAndJoin() throws InterruptedException {
            resume.countDown();
            thread.join(10_000);
        }

        void stallOnce() {
            if (Thread.currentThread() == thread && stopped.getCount() > 0) {
                stopped.countDown();
                try {
                    resume.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }
        }
    }

    /** Delegates, stopping where {@link Stall} says. */
    private record StallingStrategy(Strategy real, Stall stall) implements Strategy {
        @Override
        public Object newState(long now) {
            return real.newState(now);
        }

        @Override
        public Decision tryAcquire(Object state, long now, long permits) {
            stall.stallOnce();
            return real.tryAcquire(state, now, permits);
        }

        @Override
        public Reservation reserve(Object state, long now, long permits, long maxWaitNanos) {
            stall.stallOnce();
            return real.reserve(state, now, permits, maxWaitNanos);
        }

        @Override
        public Decision peek(Object state, long now) {
            return real.peek(state, now);
        }

        @Override
        public void retire(Object state) {
            real.retire(state);
        }

        @Override
        public long idleNanos() {
            return real.idleNanos();
        }

        @Override
        public long maxBackNanos() {
            return real.maxBackNanos();
        }
    }

    @org.junit.jupiter.api.Test
    void aLeakyBucketSlotReservedOnAStateReplacedMeanwhileIsReservedOnTheKeysCurrentState() throws Exception {
        ManualTicker ticker = new ManualTicker();
        MemoryRateLimiter limiter = (MemoryRateLimiter) RateLimiter.builder().algorithm(Algorithm.LEAKY_BUCKET)
                .limits(List.of(Limit.of(1, Duration.ofSeconds(1)).withCapacity(1), Limit.of(10, Duration.ofSeconds(10))))
                .ticker(ticker).sleeper(nanos -> { }).build();
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        Object old = states(limiter).policy().getIfPresentQuietly("k");
        ticker.advance(Duration.ofSeconds(1));

        AtomicReference<Decision> late = new AtomicReference<>();
        Thread stalled = new Thread(() -> {
            try {
                late.set(limiter.acquire("k", 1, Duration.ZERO));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        synchronized (old) {
            stalled.start();
            while (stalled.getState() != Thread.State.BLOCKED) {
                Thread.onSpinWait();
            }
            ticker.advance(Duration.ofSeconds(30));
            assertThat(limiter.tryAcquire("k").allowed()).as("a fresh key").isTrue();
        }
        stalled.join(10_000);

        assertThat(late.get().allowed()).as("a second slot at once, one a second").isFalse();
    }

    @SuppressWarnings("unchecked")
    private static Cache<String, Object> states(MemoryRateLimiter limiter) throws ReflectiveOperationException {
        Field field = MemoryRateLimiter.class.getDeclaredField("states");
        field.setAccessible(true);
        return (Cache<String, Object>) field.get(limiter);
    }
}
