package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The cases every store must pass, in memory or in Redis. A store's test extends this class.
 *
 * <p>Times are whole milliseconds and limits are chosen so that every expected figure is a whole
 * number of microseconds, the finest resolution Redis offers; nanosecond-exact cases live in
 * core's own tests. Reads like a timetable: set the clock, acquire, assert.
 */
@Timeout(60)
public abstract class RateLimiterContract {

    protected final ManualTicker ticker = new ManualTicker();

    /** The total a limiter asked its sleeper to wait; the sleeper records but lets no time pass. */
    protected final AtomicLong slept = new AtomicLong();

    /**
     * Returns a limiter with fresh state that enforces {@code policy}, reads time only from
     * {@code ticker} and waits only through {@code sleeper}. Each call must return a limiter whose
     * keys collide with no other limiter's.
     */
    protected abstract RateLimiter create(Policy policy, Ticker ticker, Sleeper sleeper);

    protected RateLimiter create(Algorithm algorithm, Limit... limits) {
        return create(new Policy(algorithm, List.of(limits)), ticker, slept::addAndGet);
    }

    private static long ms(long millis) {
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    // ---- token bucket ----

    @Test
    void tokenBucketAllowsABurstUpToCapacityThenDenies() {
        RateLimiter limiter = create(Algorithm.TOKEN_BUCKET, Limit.of(5, Duration.ofSeconds(1)).withCapacity(10));

        Decision first = limiter.tryAcquire("user-1");
        assertThat(first).isEqualTo(new Decision(true, 9, 10, 0, ms(200)));
        for (int i = 2; i <= 10; i++) {
            assertThat(limiter.tryAcquire("user-1").allowed()).as("request %d", i).isTrue();
        }
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(false, 0, 10, ms(200), ms(2000)));
    }

    @Test
    void tokenBucketRefillsContinuouslyAndRetryAfterIsExact() {
        RateLimiter limiter = create(Algorithm.TOKEN_BUCKET, Limit.of(5, Duration.ofSeconds(1)).withCapacity(10));
        assertThat(limiter.tryAcquire("user-1", 10).remaining()).isZero();

        ticker.advanceMillis(199);
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(false, 0, 10, ms(1), ms(1801)));
        ticker.advanceMillis(1);
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(true, 0, 10, 0, ms(2000)));

        ticker.advanceMillis(10_000);
        assertThat(limiter.tryAcquire("user-1")).as("refill stops at capacity")
                .isEqualTo(new Decision(true, 9, 10, 0, ms(200)));
    }

    @Test
    void weightedRequestsTakeSeveralPermitsOrNone() {
        RateLimiter limiter = create(Algorithm.TOKEN_BUCKET, Limit.of(10, Duration.ofSeconds(1)));

        assertThat(limiter.tryAcquire("user-1", 7).remaining()).isEqualTo(3);
        Decision denied = limiter.tryAcquire("user-1", 4);
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.remaining()).isEqualTo(3);
        assertThat(denied.retryAfterNanos()).isEqualTo(ms(100));
        assertThat(limiter.tryAcquire("user-1", 3).remaining()).isZero();
    }

    @Test
    void everyLimitMustAdmitAndADenialConsumesNothing() {
        RateLimiter limiter = create(Algorithm.TOKEN_BUCKET,
                Limit.of(10, Duration.ofSeconds(1)), Limit.of(15, Duration.ofMinutes(1)));

        assertThat(limiter.tryAcquire("user-1", 10)).isEqualTo(new Decision(true, 0, 10, 0, ms(40_000)));
        ticker.advanceMillis(1000);
        Decision denied = limiter.tryAcquire("user-1", 6);
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.limit()).as("the per-minute limit binds").isEqualTo(15);
        assertThat(denied.remaining()).isEqualTo(5);
        // The per-second limit is full again and must still be: the denial took nothing from it.
        assertThat(limiter.tryAcquire("user-1", 5)).isEqualTo(new Decision(true, 0, 15, 0, ms(59_000)));
    }

    @Test
    void keysAreIndependent() {
        RateLimiter limiter = create(Algorithm.TOKEN_BUCKET, Limit.of(2, Duration.ofSeconds(1)));
        limiter.tryAcquire("user-1", 2);

        assertThat(limiter.tryAcquire("user-1").allowed()).isFalse();
        assertThat(limiter.tryAcquire("user-2").allowed()).isTrue();
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void peekConsumesNothing(Algorithm algorithm) {
        RateLimiter limiter = create(algorithm, Limit.of(3, Duration.ofSeconds(1)));
        assertThat(limiter.peek("user-1").remaining()).isEqualTo(3);
        assertThat(limiter.peek("user-1").allowed()).isTrue();

        limiter.tryAcquire("user-1");
        Decision peeked = limiter.peek("user-1");
        assertThat(peeked).isEqualTo(limiter.peek("user-1"));
        assertThat(peeked.remaining()).isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void resetForgetsAKey(Algorithm algorithm) {
        RateLimiter limiter = create(algorithm, Limit.of(1, Duration.ofMinutes(1)));
        assertThat(limiter.tryAcquire("user-1").allowed()).isTrue();
        assertThat(limiter.tryAcquire("user-1").allowed()).isFalse();

        limiter.reset("user-1");
        assertThat(limiter.tryAcquire("user-1").allowed()).isTrue();
    }

    // ---- fixed window ----

    @Test
    void fixedWindowCountsPerWindowAndResetsAtItsEnd() {
        RateLimiter limiter = create(Algorithm.FIXED_WINDOW, Limit.of(3, Duration.ofSeconds(1)));
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(true, 2, 3, 0, ms(1000)));
        ticker.advanceMillis(400);
        limiter.tryAcquire("user-1", 2);
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(false, 0, 3, ms(600), ms(600)));

        ticker.advanceMillis(599);
        assertThat(limiter.tryAcquire("user-1").retryAfterNanos()).isEqualTo(ms(1));
        ticker.advanceMillis(1);
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(true, 2, 3, 0, ms(1000)));
    }

    @Test
    void fixedWindowLetsTwiceTheLimitThroughAroundABoundary() {
        RateLimiter limiter = create(Algorithm.FIXED_WINDOW, Limit.of(3, Duration.ofSeconds(1)));
        limiter.tryAcquire("user-1"); // opens the window [0, 1000)
        ticker.advanceMillis(999);
        assertThat(limiter.tryAcquire("user-1", 2).allowed()).isTrue();
        ticker.advanceMillis(1);
        assertThat(limiter.tryAcquire("user-1", 3).allowed())
                .as("5 permits within 1 ms: the documented boundary burst").isTrue();
    }

    // ---- sliding window log ----

    @Test
    void slidingLogNeverExceedsTheLimitInAnyWindow() {
        RateLimiter limiter = create(Algorithm.SLIDING_WINDOW_LOG, Limit.of(3, Duration.ofSeconds(1)));
        limiter.tryAcquire("user-1");
        ticker.advanceMillis(500);
        limiter.tryAcquire("user-1", 2);

        ticker.advanceMillis(499);
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(false, 0, 3, ms(1), ms(501)));
        ticker.advanceMillis(1);
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(true, 0, 3, 0, ms(1000)));
        Decision denied = limiter.tryAcquire("user-1");
        assertThat(denied.retryAfterNanos()).as("the entries from 500 ms leave at 1500 ms").isEqualTo(ms(500));
    }

    @Test
    void slidingLogHasNoBoundaryBurst() {
        RateLimiter limiter = create(Algorithm.SLIDING_WINDOW_LOG, Limit.of(3, Duration.ofSeconds(1)));
        limiter.tryAcquire("user-1");
        ticker.advanceMillis(999);
        limiter.tryAcquire("user-1", 2);
        ticker.advanceMillis(1);
        assertThat(limiter.tryAcquire("user-1", 2).allowed()).isFalse();
        assertThat(limiter.tryAcquire("user-1", 1).allowed()).isTrue();
    }

    // ---- sliding window counter ----

    @Test
    void slidingCounterWeighsThePreviousWindow() {
        RateLimiter limiter = create(Algorithm.SLIDING_WINDOW_COUNTER, Limit.of(10, Duration.ofSeconds(1)));
        limiter.tryAcquire("user-1", 10);
        assertThat(limiter.tryAcquire("user-1")).as("next window, once 10 * 900/1000 = 9 weigh")
                .isEqualTo(new Decision(false, 0, 10, ms(1100), ms(2000)));

        ticker.advanceMillis(1099);
        assertThat(limiter.tryAcquire("user-1").retryAfterNanos()).isEqualTo(ms(1));
        ticker.advanceMillis(1);
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(true, 0, 10, 0, ms(1900)));
        ticker.advanceMillis(400);
        assertThat(limiter.tryAcquire("user-1", 4))
                .as("at 1500 ms: 10 * 500/1000 + 1 = 6 counted, so 4 fit")
                .isEqualTo(new Decision(true, 0, 10, 0, ms(1500)));
    }

    @Test
    void slidingCounterNeverExceedsCapacityInTheCurrentWindow() {
        RateLimiter limiter = create(Algorithm.SLIDING_WINDOW_COUNTER, Limit.of(5, Duration.ofSeconds(1)));
        ticker.advanceMillis(999);
        assertThat(limiter.tryAcquire("user-1", 5).allowed()).isTrue();
        assertThat(limiter.tryAcquire("user-1").allowed()).isFalse();
    }

    // ---- leaky bucket ----

    @Test
    void leakyBucketSpacesRequests() {
        RateLimiter limiter = create(Algorithm.LEAKY_BUCKET, Limit.of(10, Duration.ofSeconds(1)));
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(true, 9, 10, 0, ms(100)));
        assertThat(limiter.tryAcquire("user-1")).isEqualTo(new Decision(false, 9, 10, ms(100), ms(100)));

        ticker.advanceMillis(60);
        assertThat(limiter.tryAcquire("user-1").retryAfterNanos()).isEqualTo(ms(40));
        ticker.advanceMillis(40);
        assertThat(limiter.tryAcquire("user-1", 2)).isEqualTo(new Decision(true, 8, 10, 0, ms(200)));
        ticker.advanceMillis(199);
        assertThat(limiter.tryAcquire("user-1").allowed()).as("two permits hold the next back twice as long").isFalse();
    }

    @Test
    void leakyBucketAcquireQueuesUpToCapacity() throws InterruptedException {
        RateLimiter limiter = create(Algorithm.LEAKY_BUCKET, Limit.of(10, Duration.ofSeconds(1)).withCapacity(3));
        // The sleeper lets no time pass, so three requests queue with waits of 0, 100 and 200 ms.
        List<Decision> decisions = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            decisions.add(limiter.acquire("user-1", 1, Duration.ofSeconds(1)));
        }
        assertThat(decisions).allMatch(Decision::allowed);
        assertThat(decisions).extracting(Decision::remaining).containsExactly(2L, 1L, 0L);
        Decision full = limiter.acquire("user-1", 1, Duration.ofSeconds(1));
        assertThat(full.allowed()).as("the queue holds three").isFalse();
        assertThat(slept.get()).isEqualTo(ms(300));
    }

    // ---- every algorithm ----

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void concurrentRequestsNeverOverAdmit(Algorithm algorithm) throws Exception {
        RateLimiter limiter = create(algorithm, Limit.of(100, Duration.ofMinutes(1)));
        // Hunts for the lost-update interleaving: many threads read the same state and race to
        // write it back at the same instant (the ticker is frozen, so nothing refills).
        int threads = 8;
        int perThread = 25;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    int admitted = 0;
                    for (int i = 0; i < perThread; i++) {
                        if (limiter.tryAcquire("hot-key").allowed()) {
                            admitted++;
                        }
                    }
                    return admitted;
                }));
            }
            start.countDown();
            int admitted = 0;
            for (Future<Integer> future : futures) {
                admitted += future.get(30, TimeUnit.SECONDS);
            }
            // The leaky bucket admits one request at a time: the rest must wait for their slot.
            assertThat(admitted).isEqualTo(algorithm == Algorithm.LEAKY_BUCKET ? 1 : 100);
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void badInputIsRejectedAndConsumesNothing(Algorithm algorithm) {
        RateLimiter limiter = create(algorithm, Limit.of(10, Duration.ofMinutes(1)));

        assertThatThrownBy(() -> limiter.tryAcquire(null)).isInstanceOf(NullPointerException.class).hasMessage("key");
        assertThatThrownBy(() -> limiter.tryAcquire(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key must not be blank");
        assertThatThrownBy(() -> limiter.tryAcquire("user-1", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("permits must be positive: 0");
        assertThatThrownBy(() -> limiter.tryAcquire("user-1", -3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("permits must be positive: -3");
        assertThatThrownBy(() -> limiter.tryAcquire("user-1", 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("permits 20 exceed capacity 10 of limit 10/PT1M");
        assertThatThrownBy(() -> limiter.peek(null)).isInstanceOf(NullPointerException.class).hasMessage("key");
        assertThatThrownBy(() -> limiter.acquire("user-1", 1, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxWait must not be negative: PT-1S");

        assertThat(limiter.peek("user-1").remaining()).as("nothing consumed").isEqualTo(10);
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void acquireReturnsADenialAtOnceWhenTheWaitIsTooLong(Algorithm algorithm) throws InterruptedException {
        RateLimiter limiter = create(algorithm, Limit.of(1, Duration.ofMinutes(1)));
        limiter.tryAcquire("user-1");
        long before = ticker.read();

        Decision decision = limiter.acquire("user-1", 1, Duration.ofSeconds(1));

        assertThat(decision.allowed()).isFalse();
        assertThat(decision.retryAfterNanos()).isGreaterThan(ms(1000));
        assertThat(ticker.read()).as("no time passed: it did not wait").isEqualTo(before);
    }
}
