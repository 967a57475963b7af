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
