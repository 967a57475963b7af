package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** What only the in-memory limiter can promise: nanosecond exactness, wide limits, expiry, bounds. */
class MemoryRateLimiterTest {

    private final ManualTicker ticker = new ManualTicker();
    private final AtomicLong slept = new AtomicLong();

    private MemoryRateLimiter limiter(Algorithm algorithm, Limit... limits) {
        return (MemoryRateLimiter) RateLimiter.builder().algorithm(algorithm).limits(java.util.List.of(limits))
                .ticker(ticker).sleeper(ticker.sleeper(slept)).build();
    }

    @Test
    void refillIsExactToTheNanosecondAtARateThatIsNotWhole() {
        // Three a second: one permit every 333,333,333 1/3 ns. Waiting exactly retryAfter each
        // time must admit every request, one nanosecond less must not, and over exactly ten
        // seconds exactly thirty permits refill: the fractions never drift.
        MemoryRateLimiter limiter = limiter(Algorithm.TOKEN_BUCKET, Limit.of(3, Duration.ofSeconds(1)));
        long start = ticker.read();
        assertThat(limiter.tryAcquire("k", 3).allowed()).isTrue();
        int admitted = 0;
        while (true) {
            Decision denied = limiter.tryAcquire("k");
            assertThat(denied.allowed()).isFalse();
            if (ticker.read() + denied.retryAfterNanos() > start + Duration.ofSeconds(10).toNanos()) {
                break;
            }
            ticker.advanceNanos(denied.retryAfterNanos() - 1);
            assertThat(limiter.tryAcquire("k").allowed()).as("1 ns early").isFalse();
            ticker.advanceNanos(1);
            assertThat(limiter.tryAcquire("k").allowed()).as("at retryAfter").isTrue();
            admitted++;
        }
        assertThat(admitted).isEqualTo(30);
        assertThat(ticker.read() - start).as("the 30th permit is due at exactly 10 s").isEqualTo(10_000_000_000L);
    }

    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = "SLIDING_WINDOW_LOG", mode = EnumSource.Mode.EXCLUDE)
    void theLargestLimitsNeitherOverflowNorRound(Algorithm algorithm) {
        // One permit a year with room for 10^12: the deficit of an empty bucket is 10^12 years in
        // nanoseconds, far past 64 bits, so this runs on the exact wide arithmetic.
        MemoryRateLimiter limiter = limiter(algorithm, Limit.of(1, Duration.ofDays(365)).withCapacity(Limit.MAX_CAPACITY),
                Limit.of(Limit.MAX_CAPACITY, Duration.ofDays(365)));
        Decision all = limiter.tryAcquire("k", Limit.MAX_CAPACITY);
        assertThat(all.allowed()).isTrue();
        assertThat(all.remaining()).isZero();
        Decision next = limiter.tryAcquire("k");
        assertThat(next.allowed()).isFalse();
        assertThat(next.retryAfterNanos()).isPositive();
        assertThat(next.resetAfterNanos()).isPositive();

        ticker.advance(Duration.ofDays(365 * 3));
        // Three years refill three permits; the leaky bucket's queue of 10^12 drains at one a year.
        assertThat(limiter.tryAcquire("k").allowed()).isEqualTo(algorithm != Algorithm.LEAKY_BUCKET);
    }

    @Test
    void aWideRateStaysExact() {
        // 100,003 is prime, so n' = 100,003 > 2^16 and the limit takes the wide path; a permit
        // refills every 9,999.7 ns, so three are due at ceil(29,999.1) = 30,000 ns.
        MemoryRateLimiter limiter = limiter(Algorithm.TOKEN_BUCKET, Limit.of(100_003, Duration.ofSeconds(1)));
        assertThat(limiter.tryAcquire("k", 100_003).allowed()).isTrue();
        assertThat(limiter.tryAcquire("k", 3).retryAfterNanos()).isEqualTo(30_000);
        ticker.advanceNanos(29_999);
        assertThat(limiter.tryAcquire("k", 3).allowed()).isFalse();
        ticker.advanceNanos(1);
        // Full again once the 100,003 - 0.0009 permits still missing have refilled.
        assertThat(limiter.tryAcquire("k", 3)).isEqualTo(new Decision(true, 0, 100_003, 0, 1000000000L));
    }

    /**
     * Only differences between readings matter, so a ticker may cross Long.MAX_VALUE. 65,521 per
     * hour runs on 64-bit scaled time; 65,537 (n' > 2^16) on the wide BigInteger path, which once
     * read the wrapped reading as a step back of 584 years and locked the key out.
     */
    @ParameterizedTest
    @ValueSource(longs = {65_521, 65_537})
    void aTickerMayCrossLongMaxValue(long permits) {
        for (int copies = 1; copies <= 2; copies++) {
            ManualTicker crossing = new ManualTicker(Long.MAX_VALUE - Duration.ofSeconds(1).toNanos());
            Limit limit = Limit.of(permits, Duration.ofHours(1));
            RateLimiter limiter = RateLimiter.builder().limits(java.util.Collections.nCopies(copies, limit)).ticker(crossing).build();
            assertThat(limiter.tryAcquire("k", permits).allowed()).isTrue();
            crossing.advance(Duration.ofMinutes(30));

            Decision decision = limiter.tryAcquire("k");
            assertThat(decision.allowed()).as("%d/h under %d limits, 30 min after emptying: %s", permits, copies, decision).isTrue();
            assertThat(decision.remaining()).isEqualTo(permits / 2 - 1);
        }
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aTickerThatJumpsBackwardsNeverCreatesPermits(Algorithm algorithm) {
        MemoryRateLimiter limiter = limiter(algorithm, Limit.of(10, Duration.ofSeconds(1)), Limit.of(100, Duration.ofMinutes(1)));
        ticker.advanceMillis(500);
        limiter.tryAcquire("k", algorithm == Algorithm.LEAKY_BUCKET ? 1 : 10);
        long before = limiter.peek("k").remaining();

        for (long back : new long[] {1, 1_000_000, Duration.ofMinutes(10).toNanos(), Duration.ofHours(30).toNanos()}) {
            ticker.advanceNanos(-back);
            Decision decision = limiter.tryAcquire("k");
            assertThat(decision.allowed()).as("%d ns back", back).isFalse();
            assertThat(decision.remaining()).isBetween(0L, before);
            assertThat(limiter.peek("k").remaining()).isBetween(0L, before);
            ticker.advanceNanos(back);
        }
        ticker.advance(Duration.ofHours(1));
        assertThat(limiter.tryAcquire("k").allowed()).as("time moving on again refills").isTrue();
    }

    /**
     * 65,521 is prime, so scaled time runs at 65,521 units a nanosecond and an empty bucket's
     * deficit is 2.4e17 units: a step back of 38.5 h adds 9.1e18, past 2^63 with the deficit. That
     * once wrapped and read as a full bucket. Within the 64-bit range the figures stay exact (a
     * step back of an hour puts retryAfter an hour later); beyond it every step back denies.
     */
    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = {"TOKEN_BUCKET", "LEAKY_BUCKET"})
    void anEmptyBucketStaysEmptyAfterAnyStepBack(Algorithm algorithm) {
        Limit limit = Limit.of(65_521, Duration.ofHours(1));
        assertStaysEmptyAfterAnyStepBack(limiter(algorithm, limit));
        assertStaysEmptyAfterAnyStepBack(limiter(algorithm, limit, limit)); // the path for several limits
    }

    private void assertStaysEmptyAfterAnyStepBack(MemoryRateLimiter limiter) {
        assertThat(limiter.tryAcquire("k", 65_521).allowed()).isTrue();
        long retry = limiter.tryAcquire("k").retryAfterNanos();
        ticker.advance(Duration.ofHours(-1));
        assertThat(limiter.tryAcquire("k").retryAfterNanos()).isEqualTo(retry + Duration.ofHours(1).toNanos());
        ticker.advance(Duration.ofHours(1));

        for (Duration back : new Duration[] {Duration.ofHours(20), Duration.ofMinutes(38 * 60 + 30), Duration.ofHours(39),
                Duration.ofHours(60), Duration.ofHours(78), Duration.ofDays(400), Duration.ofDays(200 * 365)}) {
            ticker.advance(back.negated());
            Decision decision = limiter.tryAcquire("k");
            assertThat(decision.allowed()).as("%s back: %s", back, decision).isFalse();
            assertThat(decision.remaining()).isZero();
            assertThat(limiter.peek("k").allowed()).as("peek %s back", back).isFalse();
            ticker.advance(back);
        }
        assertThat(limiter.tryAcquire("k").allowed()).isFalse();
        ticker.advanceNanos(retry);
        assertThat(limiter.tryAcquire("k").allowed()).as("at the retryAfter before the steps").isTrue();
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aDenialByOneLimitTakesNothingFromTheOthers(Algorithm algorithm) {
        MemoryRateLimiter limiter = limiter(algorithm, Limit.of(5, Duration.ofSeconds(1)), Limit.of(3, Duration.ofMinutes(1)));
        assertThat(limiter.tryAcquire("k", 3).allowed()).isTrue();
        ticker.advance(Duration.ofSeconds(2));
        Decision before = limiter.peek("k");
        assertThat(limiter.tryAcquire("k", 2).allowed()).as("the per-minute limit is spent").isFalse();
        assertThat(limiter.peek("k")).isEqualTo(before);
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void anIdleKeyIsDroppedOnceItWouldBeFullAnyway(Algorithm algorithm) {
        MemoryRateLimiter limiter = limiter(algorithm, Limit.of(10, Duration.ofSeconds(1)));
        limiter.tryAcquire("k");
        assertThat(limiter.trackedKeys()).isEqualTo(1);

        // Every state is fresh again after one period (the counter: two, as its previous window
        // must roll out too); the key is kept a little longer for the lags in Caffeine's view of time.
        long idle = Duration.ofSeconds(algorithm == Algorithm.SLIDING_WINDOW_COUNTER ? 2 : 1).toNanos();
        ticker.advanceNanos(idle + MemoryRateLimiter.EXPIRY_SLACK_NANOS - 2_000_000);
        assertThat(limiter.trackedKeys()).as("still within its idle window and slack").isEqualTo(1);
        ticker.advanceNanos(3_000_000);
        assertThat(limiter.trackedKeys()).isZero();
        assertThat(limiter.tryAcquire("k").remaining()).isEqualTo(9);
    }

    /**
     * After a step back (say NTP on a ticker that is not monotonic), the cache must not measure
     * idleness from the earlier readings: the key's state is still refilling from the latest one,
     * and a key dropped while refilling comes back full.
     */
    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aKeyIsNotDroppedWhileRefillingFromBeforeABackwardsJump(Algorithm algorithm) {
        MemoryRateLimiter limiter = limiter(algorithm, Limit.of(1, Duration.ofHours(1)));
        long admitted = ticker.read();
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        ticker.advance(Duration.ofHours(-2));
        assertThat(limiter.tryAcquire("k").allowed()).isFalse();
        ticker.advance(Duration.ofHours(1).plusSeconds(3));
        assertThat(limiter.tryAcquire("k").allowed()).as("an hour before the admitted request").isFalse();

        // Once time passes the latest reading by the idle window and its slack, the key is dropped as usual.
        long idle = Duration.ofHours(algorithm == Algorithm.SLIDING_WINDOW_COUNTER ? 2 : 1).toNanos();
        ticker.advanceNanos(admitted + idle + MemoryRateLimiter.EXPIRY_SLACK_NANOS + 1_000_000 - ticker.read());
        assertThat(limiter.trackedKeys()).isZero();
    }

    /**
     * A peek records no access, so it must change nothing the cache's expiry depends on. The
     * sliding log's peek once dropped the entries leaving the window, and so moved the time a later
     * reading behind it is decided at (see SlidingWindowLog.Log#at): a request after a step back,
     * within the quarter second in which a key's accesses are not recorded, was then counted from
     * the peek's time, 10 s after the cache's last record of the key, and the key expired while
     * that entry was still in the window. Its own resetAfter was not yet over when the key came
     * back empty and admitted the whole capacity again.
     */
    @Test
    void aSlidingLogKeyIsKeptUntilTheResetAfterItReported() {
        MemoryRateLimiter limiter = limiter(Algorithm.SLIDING_WINDOW_LOG, Limit.of(2, Duration.ofSeconds(10)));
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();                       // at 0
        ticker.advance(Duration.ofMillis(100));
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();                       // at 0.1 s
        ticker.advance(Duration.ofMillis(9_950));
        assertThat(limiter.peek("k").remaining()).as("at 10.05 s the 0 s entry has left").isEqualTo(1);
        ticker.advance(Duration.ofMillis(-9_850));                                   // back to 0.2 s

        Decision stale = limiter.tryAcquire("k");
        long over = ticker.read() + stale.resetAfterNanos();
        ticker.advanceNanos(over - 1 - ticker.read());
        Decision before = limiter.peek("k");
        assertThat(before.remaining()).as("1 ns before the resetAfter of %s: %s", stale, before).isLessThan(2);
        assertThat(limiter.tryAcquire("k", 2).allowed()).as("the whole capacity 1 ns before %s ends", stale).isFalse();
    }

    @Test
    void peekingAtASlidingCounterLeavesItsWindowWhereItWas() {
        MemoryRateLimiter peeked = limiter(Algorithm.SLIDING_WINDOW_COUNTER, Limit.of(10, Duration.ofSeconds(1)));
        MemoryRateLimiter untouched = limiter(Algorithm.SLIDING_WINDOW_COUNTER, Limit.of(10, Duration.ofSeconds(1)));
        peeked.tryAcquire("k");
        untouched.tryAcquire("k");
        ticker.advance(Duration.ofMillis(2_500));   // both counts have rolled out
        peeked.peek("k");
        ticker.advance(Duration.ofMillis(300));
        assertThat(peeked.tryAcquire("k")).isEqualTo(untouched.tryAcquire("k"));
    }

    @Test
    void aBlankKeyIsRefusedAndNeverStoredWhileOtherKeysAreTracked() {
        // Only a key the cache does not hold is scanned for blanks, so one that is held must never be blank.
        MemoryRateLimiter limiter = limiter(Algorithm.FIXED_WINDOW, Limit.of(10, Duration.ofSeconds(1)));
        limiter.tryAcquire("k");
        for (String blank : new String[] {"", " ", "\t\n", "\u2003"}) {
            assertThatThrownBy(() -> limiter.tryAcquire(blank)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("key must not be blank");
        }
        assertThat(limiter.trackedKeys()).isEqualTo(1);
    }

    @Test
    void peekingNeitherCreatesNorKeepsAKey() {
        MemoryRateLimiter limiter = limiter(Algorithm.TOKEN_BUCKET, Limit.of(10, Duration.ofSeconds(1)));
        limiter.peek("ghost");
        assertThat(limiter.trackedKeys()).isZero();
    }

    @Test
    void trackedKeysAreBoundedByMaxKeys() {
        MemoryRateLimiter limiter = (MemoryRateLimiter) RateLimiter.builder().limit(Limit.of(10, Duration.ofMinutes(1)))
                .ticker(ticker).maxKeys(100).build();
        for (int i = 0; i < 10_000; i++) {
            limiter.tryAcquire("client-" + i);
        }
        assertThat(limiter.trackedKeys()).isLessThanOrEqualTo(100);
    }

    @Test
    void acquireWaitsExactlyAsLongAsItMust() throws InterruptedException {
        MemoryRateLimiter limiter = limiter(Algorithm.TOKEN_BUCKET, Limit.of(3, Duration.ofSeconds(1)));
        limiter.tryAcquire("k", 3);

        Decision decision = limiter.acquire("k", 2, Duration.ofSeconds(1));

        assertThat(decision.allowed()).isTrue();
        assertThat(slept.get()).isEqualTo(666_666_667L);
    }

    @Test
    void acquireHonoursInterruptionAndConsumesNothing() {
        MemoryRateLimiter limiter = limiter(Algorithm.TOKEN_BUCKET, Limit.of(3, Duration.ofSeconds(1)));
        limiter.tryAcquire("k", 3);
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> limiter.acquire("k", 1, Duration.ofSeconds(5))).isInstanceOf(InterruptedException.class);
        } finally {
            Thread.interrupted();
        }
        ticker.advance(Duration.ofSeconds(1));
        assertThat(limiter.tryAcquire("k", 3).allowed()).isTrue();
    }

    @Test
    void leakyBucketAcquireSpacesCallersEvenly() throws InterruptedException {
        MemoryRateLimiter limiter = limiter(Algorithm.LEAKY_BUCKET, Limit.of(4, Duration.ofSeconds(1)));
        long start = ticker.read();
        for (int i = 0; i < 5; i++) {
            assertThat(limiter.acquire("k", 1, Duration.ofSeconds(1)).allowed()).isTrue();
            assertThat(ticker.read() - start).as("request %d goes at its slot", i).isEqualTo(i * 250_000_000L);
        }
    }

    /**
     * A maxWait of exactly the wait admits, after exactly that wait; a nanosecond less denies at
     * once, taking nothing. The ticker starts just below {@code Long.MAX_VALUE}, so the wait
     * crosses the wrap to negative readings, as {@link System#nanoTime()} may.
     */
    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void acquireAdmitsAtAMaxWaitOfExactlyTheWait(Algorithm algorithm) throws InterruptedException {
        ManualTicker ticker = new ManualTicker(Long.MAX_VALUE - 5);
        RateLimiter limiter = RateLimiter.builder().algorithm(algorithm).limit(Limit.of(3, Duration.ofHours(1)))
                .ticker(ticker).sleeper(ticker.sleeper(slept)).build();
        limiter.tryAcquire("k");
        ticker.advanceNanos(7);
        while (limiter.tryAcquire("k").allowed()) {
            ticker.advanceNanos(1);
        }
        long wait = limiter.peek("k").retryAfterNanos();
        assertThat(wait).isPositive();

        Decision early = limiter.acquire("k", 1, Duration.ofNanos(wait - 1));
        assertThat(early.allowed()).as("maxWait a nanosecond short").isFalse();
        assertThat(slept.get()).as("a denial that no wait within maxWait can turn waits for nothing").isZero();
        Decision onTime = limiter.acquire("k", 1, Duration.ofNanos(wait));
        assertThat(onTime.allowed()).as("maxWait exactly the wait").isTrue();
        assertThat(slept.get()).isEqualTo(wait);
    }

    @Test
    void aNullMaxWaitIsRejected() {
        MemoryRateLimiter limiter = limiter(Algorithm.TOKEN_BUCKET, Limit.of(3, Duration.ofSeconds(1)));
        assertThatThrownBy(() -> limiter.acquire("k", 1, null)).isInstanceOf(NullPointerException.class).hasMessage("maxWait");
    }
    /**
     * A sliding counter decides a reading behind its window's start (a ticker step back here; a
     * thread whose reading went stale while another rolled the window alike) as at the start, with
     * the previous window weighed fully. Its waits once counted from the start too, not from the
     * reading: retryAfter and resetAfter came short by the step, so acquire() slept for a wait that
     * ended in a denial, where it must refuse at once a wait longer than its maxWait.
     */
    @ParameterizedTest(name = "{0} limit(s)")
    @ValueSource(ints = {1, 2})
    void aSlidingCounterCountsItsWaitsFromAReadingBehindItsWindow(int limits) throws InterruptedException {
        Limit limit = Limit.of(1, Duration.ofSeconds(1));
        MemoryRateLimiter limiter = limits == 1 ? limiter(Algorithm.SLIDING_WINDOW_COUNTER, limit)
                : limiter(Algorithm.SLIDING_WINDOW_COUNTER, limit, limit);
        long start = ticker.read();
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        ticker.advance(Duration.ofSeconds(1));                  // start + 1 s: a window weighing that permit fully
        assertThat(limiter.tryAcquire("k").retryAfter()).isEqualTo(Duration.ofSeconds(1));
        ticker.advance(Duration.ofMillis(-500));                // start + 0.5 s, behind the window

        Decision denied = limiter.tryAcquire("k");
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.retryAfter()).as("until start + 2 s, the end of the window weighing the permit").isEqualTo(Duration.ofMillis(1_500));
        assertThat(denied.resetAfter()).isEqualTo(Duration.ofMillis(1_500));
        assertThat(limiter.acquire("k", 1, Duration.ofMillis(1_200)).allowed()).isFalse();
        assertThat(slept.get()).as("a wait longer than maxWait is refused without sleeping").isZero();

        ticker.advanceNanos(start + Duration.ofSeconds(2).toNanos() - 1 - ticker.read());
        assertThat(limiter.tryAcquire("k").allowed()).as("1 ns before retryAfter").isFalse();
        ticker.advanceNanos(1);
        assertThat(limiter.tryAcquire("k").allowed()).as("at retryAfter").isTrue();
    }

    /**
     * An admission whose reading is behind the log's newest entry (a ticker step back here; a
     * reading gone stale under a racing thread alike) once went to the log's end out of time
     * order: a denial then reported retryAfter 0, and acquire() slept a nanosecond at a time far
     * past its maxWait.
     */
    @ParameterizedTest(name = "{0} limit(s)")
    @ValueSource(ints = {1, 2})
    void aSlidingLogKeepsTimeOrderWhenAReadingIsBehindItsNewestEntry(int limits) throws InterruptedException {
        ManualTicker ticker = new ManualTicker();
        long[] sleeps = new long[2]; // count, nanoseconds
        Sleeper sleeper = nanos -> {
            if (++sleeps[0] > 1_000) {
                throw new IllegalStateException("acquire still waiting after 1,000 sleeps, " + sleeps[1] + " ns");
            }
            sleeps[1] += nanos;
            ticker.advanceNanos(nanos);
        };
        RateLimiter.Builder builder = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_LOG)
                .limit(Limit.of(2, Duration.ofSeconds(100))).ticker(ticker).sleeper(sleeper);
        RateLimiter limiter = (limits == 1 ? builder : builder.limit(Limit.of(100, Duration.ofSeconds(200)))).build();
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();      // at T
        ticker.advance(Duration.ofSeconds(-50));
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();      // at T-50s, counted from T
        ticker.advance(Duration.ofSeconds(105));                      // T+55s: both stay until T+100s

        Decision denied = limiter.tryAcquire("k", 2);
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.retryAfter()).isEqualTo(Duration.ofSeconds(45));
        assertThat(denied.resetAfter()).isEqualTo(Duration.ofSeconds(limits == 1 ? 45 : 145)); // the newest entry, T, leaves
        assertThat(limiter.acquire("k", 2, Duration.ofSeconds(10)).allowed()).isFalse();
        assertThat(sleeps[0]).as("a wait longer than maxWait is refused without sleeping").isZero();
    }
}
