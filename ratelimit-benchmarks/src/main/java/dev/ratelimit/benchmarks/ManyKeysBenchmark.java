package dev.ratelimit.benchmarks;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.RateLimiter;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 100,000 keys drawn from a Zipf distribution (exponent 0.99, as YCSB), 2 threads, every call
 * admitted: ours (token bucket) against Bucket4j buckets in a {@link ConcurrentHashMap} filled by
 * {@code computeIfAbsent}, and against Bucket4j's Caffeine proxy manager, which is how
 * bucket4j-spring-boot-starter keeps local buckets. Every key is created before measuring, so
 * this measures lookups and decisions, not first requests. The draws are precomputed from a
 * fixed seed; each thread walks them from its own offset.
 *
 * <pre>{@code
 * java -jar ratelimit-benchmarks/target/benchmarks.jar ManyKeysBenchmark -prof gc \
 *     -rf json -rff docs/bench-data/many-keys.json
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Threads(2)
public class ManyKeysBenchmark {

    static final int KEYS = 100_000;
    static final int DRAWS = 1 << 21;
    static final double EXPONENT = 0.99;
    static final long SEED = 42;

    /** The keys and the precomputed draws, shared by all threads. */
    @State(Scope.Benchmark)
    public static class Workload {
        String[] keys;
        int[] draws;

        @Setup(Level.Trial)
        public void build() {
            keys = Keys.of(KEYS);
            draws = Keys.zipf(KEYS, EXPONENT, DRAWS, SEED);
        }
    }

    /** Each thread's position in the draws; threads start half the array apart. */
    @State(Scope.Thread)
    public static class Cursor {
        private static int started;
        int next;

        @Setup(Level.Trial)
        public void start() {
            synchronized (Cursor.class) {
                next = (started++ * (DRAWS / 2)) & (DRAWS - 1);
            }
        }

        String key(Workload workload) {
            String key = workload.keys[workload.draws[next]];
            next = (next + 1) & (DRAWS - 1);
            return key;
        }
    }

    @State(Scope.Benchmark)
    public static class Ours {
        RateLimiter limiter;

        @Setup(Level.Trial)
        public void build(Workload workload) {
            limiter = Setups.ours(Algorithm.TOKEN_BUCKET, Outcome.ADMITTED);
            for (String key : workload.keys) {
                Setups.expect(Outcome.ADMITTED, limiter.tryAcquire(key).allowed(), "ours");
            }
        }
    }

    @State(Scope.Benchmark)
    public static class Bucket4jMap {
        final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

        @Setup(Level.Trial)
        public void build(Workload workload) {
            for (String key : workload.keys) {
                Setups.expect(Outcome.ADMITTED, tryConsume(key), "Bucket4j in a map");
            }
        }

        boolean tryConsume(String key) {
            return buckets.computeIfAbsent(key, k -> Setups.bucket4j(Setups.limit(Outcome.ADMITTED))).tryConsume(1);
        }
    }

    @State(Scope.Benchmark)
    public static class Bucket4jCaffeineProxy {
        ProxyManager<String> proxies;
        BucketConfiguration configuration;

        @Setup(Level.Trial)
        public void build(Workload workload) {
            configuration = Setups.bucket4jConfiguration(Setups.limit(Outcome.ADMITTED));
            proxies = Setups.caffeineProxyManager(KEYS);
            for (String key : workload.keys) {
                Setups.expect(Outcome.ADMITTED, tryConsume(key), "Bucket4j's Caffeine proxy manager");
            }
        }

        boolean tryConsume(String key) {
            return proxies.builder().build(key, configuration).tryConsume(1);
        }
    }

    @Benchmark
    public boolean ours(Workload workload, Cursor cursor, Ours ours, Denials denials) {
        return denials.count(ours.limiter.tryAcquire(cursor.key(workload)).allowed());
    }

    @Benchmark
    public boolean bucket4jMap(Workload workload, Cursor cursor, Bucket4jMap map, Denials denials) {
        return denials.count(map.tryConsume(cursor.key(workload)));
    }

    @Benchmark
    public boolean bucket4jCaffeine(Workload workload, Cursor cursor, Bucket4jCaffeineProxy proxy, Denials denials) {
        return denials.count(proxy.tryConsume(cursor.key(workload)));
    }
}
