package dev.ratelimit.benchmarks;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.RateLimiter;
import io.github.bucket4j.Bucket;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One key, one limiter shared by 1 or 2 threads: ours for each algorithm against a bare Bucket4j
 * bucket, Resilience4j's {@code AtomicRateLimiter} and Guava's {@code RateLimiter}. Each call
 * returns the boolean a caller branches on. Ours and Bucket4j are measured on the admitting path
 * (every call admitted) and on the denying path (every call after the first denied); the
 * secondary result {@code denied} counts the denials, which must be zero on the admitting path.
 *
 * <p>Run it with allocation figures:
 * <pre>{@code
 * java -jar ratelimit-benchmarks/target/benchmarks.jar HotPathBenchmark -prof gc \
 *     -rf json -rff docs/bench-data/hot-path.json
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class HotPathBenchmark {

    static final String KEY = "user-42";

    @State(Scope.Benchmark)
    public static class Ours {
        @Param({"TOKEN_BUCKET", "FIXED_WINDOW", "SLIDING_WINDOW_LOG", "SLIDING_WINDOW_COUNTER", "LEAKY_BUCKET"})
        public Algorithm algorithm;

        @Param({"ADMITTED", "DENIED"})
        public Outcome outcome;

        RateLimiter limiter;

        @Setup(Level.Trial)
        public void build() {
            limiter = Setups.ours(algorithm, outcome);
            // The first call takes the denying limit's only permit; after it, each call must decide as claimed.
            limiter.tryAcquire(KEY);
            for (int i = 0; i < 1000; i++) {
                Setups.expect(outcome, limiter.tryAcquire(KEY).allowed(), "ours " + algorithm);
            }
        }
    }

    @State(Scope.Benchmark)
    public static class Bucket4j {
        @Param({"ADMITTED", "DENIED"})
        public Outcome outcome;

        Bucket bucket;

        @Setup(Level.Trial)
        public void build() {
            bucket = Setups.bucket4j(Setups.limit(outcome));
            bucket.tryConsume(1);
            for (int i = 0; i < 1000; i++) {
                Setups.expect(outcome, bucket.tryConsume(1), "Bucket4j");
            }
        }
    }

    @State(Scope.Benchmark)
    public static class Resilience4j {
        io.github.resilience4j.ratelimiter.RateLimiter limiter;

        @Setup(Level.Trial)
        public void build() {
            // Integer.MAX_VALUE permits a second: more than any thread here can take.
            limiter = io.github.resilience4j.ratelimiter.RateLimiter.of("bench", RateLimiterConfig.custom()
                    .limitForPeriod(Integer.MAX_VALUE)
                    .limitRefreshPeriod(Duration.ofSeconds(1))
                    .timeoutDuration(Duration.ZERO)
                    .build());
            for (int i = 0; i < 1000; i++) {
                Setups.expect(Outcome.ADMITTED, limiter.acquirePermission(), "Resilience4j");
            }
        }
    }

    @State(Scope.Benchmark)
    public static class Guava {
        com.google.common.util.concurrent.RateLimiter limiter;

        @Setup(Level.Trial)
        public void build() {
            limiter = com.google.common.util.concurrent.RateLimiter.create(Setups.HUGE_RATE);
            for (int i = 0; i < 1000; i++) {
                Setups.expect(Outcome.ADMITTED, limiter.tryAcquire(), "Guava");
            }
        }
    }

    // Each two-thread benchmark calls its one-thread twin, so both measure exactly the same code.

    @Benchmark
    @Threads(1)
    public boolean oursOneThread(Ours ours, Denials denials) {
        return denials.count(ours.limiter.tryAcquire(KEY).allowed());
    }

    @Benchmark
    @Threads(2)
    public boolean oursTwoThreads(Ours ours, Denials denials) {
        return oursOneThread(ours, denials);
    }

    @Benchmark
    @Threads(1)
    public boolean bucket4jOneThread(Bucket4j bucket4j, Denials denials) {
        return denials.count(bucket4j.bucket.tryConsume(1));
    }

    @Benchmark
    @Threads(2)
    public boolean bucket4jTwoThreads(Bucket4j bucket4j, Denials denials) {
        return bucket4jOneThread(bucket4j, denials);
    }

    @Benchmark
    @Threads(1)
    public boolean resilience4jOneThread(Resilience4j resilience4j, Denials denials) {
        return denials.count(resilience4j.limiter.acquirePermission());
    }

    @Benchmark
    @Threads(2)
    public boolean resilience4jTwoThreads(Resilience4j resilience4j, Denials denials) {
        return resilience4jOneThread(resilience4j, denials);
    }

    @Benchmark
    @Threads(1)
    public boolean guavaOneThread(Guava guava, Denials denials) {
        return denials.count(guava.limiter.tryAcquire());
    }

    @Benchmark
    @Threads(2)
    public boolean guavaTwoThreads(Guava guava, Denials denials) {
        return guavaOneThread(guava, denials);
    }
}
