package dev.ratelimit.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
 * Diagnosis, not a comparison: what the per-key store and the clock cost on the hot path, apart
 * from any algorithm. Each call reads {@link System#nanoTime()}, finds one key's {@link AtomicLong}
 * and CASes it forward, as the token bucket does with its cell; only the store differs:
 * <ul>
 *   <li>{@code caffeine}: Caffeine as {@code MemoryRateLimiter} builds it (maximum size, expiry
 *       after access on the same ticker, maintenance on the common pool);
 *   <li>{@code caffeineInline}: the same, with maintenance on the calling thread;
 *   <li>{@code map}: a {@link ConcurrentHashMap};
 *   <li>{@code none}: the cell itself, no lookup.
 * </ul>
 * {@code nanoTime} and {@code currentTimeMillis} measure the clocks alone: the floor under any
 * limiter that reads the time on each call (ours reads {@code nanoTime}, Bucket4j
 * {@code currentTimeMillis} by default).
 *
 * <pre>{@code
 * java -jar ratelimit-benchmarks/target/benchmarks.jar LookupCostBenchmark -prof gc \
 *     -rf json -rff docs/bench-data/lookup-cost.json
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class LookupCostBenchmark {

    @State(Scope.Benchmark)
    public static class Store {
        @Param({"caffeine", "caffeineInline", "map", "none"})
        public String store;

        Map<String, AtomicLong> map;
        AtomicLong cell;

        @Setup(Level.Trial)
        public void build() {
            cell = new AtomicLong(System.nanoTime());
            Caffeine<Object, Object> caffeine = Caffeine.newBuilder()
                    .maximumSize(1_000_000)
                    .expireAfterAccess(1, TimeUnit.HOURS)
                    .ticker(System::nanoTime);
            if (store.equals("caffeineInline")) {
                caffeine.executor(Runnable::run);
            }
            Cache<String, AtomicLong> cache = caffeine.build();
            map = store.startsWith("caffeine") ? cache.asMap() : new ConcurrentHashMap<>();
            map.put(HotPathBenchmark.KEY, cell);
        }

        /** {@code asMap().get} records the read exactly as {@code Cache.getIfPresent} does. */
        AtomicLong find(String key) {
            return store.equals("none") ? cell : map.get(key);
        }
    }

    @Benchmark
    @Threads(1)
    public boolean oneThread(Store store) {
        long now = System.nanoTime();
        AtomicLong cell = store.find(HotPathBenchmark.KEY);
        long seen = cell.get();
        return cell.compareAndSet(seen, Math.max(seen, now) + 1);
    }

    @Benchmark
    @Threads(2)
    public boolean twoThreads(Store store) {
        return oneThread(store);
    }

    @Benchmark
    @Threads(1)
    public long nanoTime() {
        return System.nanoTime();
    }

    @Benchmark
    @Threads(1)
    public long currentTimeMillis() {
        return System.currentTimeMillis();
    }
}
