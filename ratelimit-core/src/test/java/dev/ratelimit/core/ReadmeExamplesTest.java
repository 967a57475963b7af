package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The README's plain-Java examples, run as written (with a manual ticker where time must pass). */
class ReadmeExamplesTest {

    @Test
    void quickStart() {
        RateLimiter limiter = RateLimiter.builder()
                .limit(Limit.of(5, Duration.ofSeconds(1)).withCapacity(10))   // 5 per second, bursts of 10
                .limit(Limit.of(1000, Duration.ofHours(1)))                   // and at most 1000 an hour
                .build();

        Decision d = limiter.tryAcquire("user-42");
        assertThat(d.allowed()).isTrue();
        assertThat(d.remaining()).isEqualTo(9);
        assertThat(d.limit()).isEqualTo(10);
        assertThat(limiter.tryAcquire("user-42", 3).remaining()).isEqualTo(6);
        assertThat(limiter.peek("user-42").remaining()).isEqualTo(6);
    }

    @Test
    void everyAlgorithm() throws InterruptedException {
        ManualTicker ticker = new ManualTicker();
        RateLimiter fixed = RateLimiter.builder().algorithm(Algorithm.FIXED_WINDOW)
                .limit(Limit.of(100, Duration.ofMinutes(1))).ticker(ticker).build();
        RateLimiter log = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_LOG)
                .limit(Limit.of(100, Duration.ofMinutes(1))).ticker(ticker).build();
        RateLimiter counter = RateLimiter.builder().algorithm(Algorithm.SLIDING_WINDOW_COUNTER)
                .limit(Limit.of(100, Duration.ofMinutes(1))).ticker(ticker).build();
        RateLimiter shaper = RateLimiter.builder().algorithm(Algorithm.LEAKY_BUCKET)
                .limit(Limit.of(10, Duration.ofSeconds(1)).withCapacity(50)).ticker(ticker)
                .sleeper(ticker.sleeper(new java.util.concurrent.atomic.AtomicLong())).build();

        assertThat(fixed.tryAcquire("k", 100).allowed()).isTrue();
        assertThat(log.tryAcquire("k", 100).allowed()).isTrue();
        assertThat(counter.tryAcquire("k", 100).allowed()).isTrue();
        assertThat(shaper.tryAcquire("k").allowed()).isTrue();
        assertThat(shaper.tryAcquire("k").allowed()).as("the shaper spaces requests 100 ms apart").isFalse();
        Decision waited = shaper.acquire("k", 1, Duration.ofMillis(500));
        assertThat(waited.allowed()).isTrue();
    }
}
