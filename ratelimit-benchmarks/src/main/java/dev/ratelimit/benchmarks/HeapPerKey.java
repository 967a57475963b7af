package dev.ratelimit.benchmarks;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.RateLimiter;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import org.openjdk.jol.info.GraphLayout;

/**
 * Retained heap per tracked key: how many bytes one more client costs, beyond its key string.
 *
 * <p>Method: make the {@code n} 16-character key strings first and measure the used heap after
 * full collections; then track every key (one admitted request each, limit 1,000 a day) and
 * measure again. The difference divided by {@code n} is the cost per key, key strings excluded
 * because they existed in both readings. The heap is read from {@link MemoryMXBean} after five
 * {@link System#gc()} calls, which under G1 are full collections that leave only live objects
 * (the serial and parallel collectors leave tens of megabytes in eden after {@code System.gc()},
 * which skews the difference by ±20 bytes a key). Regions of 32 MB keep the largest arrays
 * (hash tables, Caffeine's frequency sketch) from being humongous, whose rounding to whole regions
 * would overstate them. Run one configuration per JVM, so that nothing from another is still live:
 *
 * <pre>{@code
 * java -XX:+UseG1GC -XX:G1HeapRegionSize=32m -Xms4g -Xmx4g -cp ratelimit-benchmarks/target/benchmarks.jar \
 *     dev.ratelimit.benchmarks.HeapPerKey OURS 1000000 [--footprint]
 * }</pre>
 *
 * Configurations: {@code OURS} (token bucket, one limit, default key bound of 1,000,000);
 * {@code BUCKET4J_MAP} (a local Bucket4j bucket per key in a {@link ConcurrentHashMap});
 * {@code BUCKET4J_CAFFEINE} (Bucket4j's Caffeine proxy manager, bounded to {@code n});
 * {@code ATOMIC_LONG_MAP}, an {@code AtomicLong} per key in a {@link ConcurrentHashMap}, which
 * checks the method against a layout whose size is known (48 bytes a key with compressed oops).
 * {@code --footprint} also prints JOL's census of the structure by class, which says where the
 * bytes go. Prints one JSON object on the last line.
 */
public final class HeapPerKey {

    /**
     * A daily API quota. One permit refills in 86.4 s, longer than a measurement takes, so every
     * tracked key still holds a partly used bucket (and may not be dropped) when it is checked.
     */
    static final Limit LIMIT = Limit.of(1000, Duration.ofDays(1));

    private HeapPerKey() {
    }

    enum Configuration {
        OURS(n -> {
            RateLimiter limiter = Setups.ours(Algorithm.TOKEN_BUCKET, LIMIT);
            return new Tracker(limiter, key -> limiter.tryAcquire(key).allowed(),
                    key -> limiter.peek(key).remaining() < LIMIT.capacity());
        }),
        BUCKET4J_MAP(n -> {
            ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
            return new Tracker(buckets, key -> buckets.computeIfAbsent(key, k -> Setups.bucket4j(LIMIT)).tryConsume(1),
                    buckets::containsKey);
        }),
        BUCKET4J_CAFFEINE(n -> {
            ProxyManager<String> proxies = Setups.caffeineProxyManager(n);
            BucketConfiguration configuration = Setups.bucket4jConfiguration(LIMIT);
            return new Tracker(proxies, key -> proxies.builder().build(key, configuration).tryConsume(1),
                    key -> proxies.getProxyConfiguration(key).isPresent());
        }),
        ATOMIC_LONG_MAP(n -> {
            ConcurrentHashMap<String, AtomicLong> counters = new ConcurrentHashMap<>();
            return new Tracker(counters, key -> counters.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet() > 0,
                    counters::containsKey);
        });

        final IntFunction<Tracker> factory;

        Configuration(IntFunction<Tracker> factory) {
            this.factory = factory;
        }
    }

    /** A structure under measurement, how to track a key in it, and how to check it is still tracked. */
    record Tracker(Object root, Predicate<String> track, Predicate<String> tracked) {
    }

    public static void main(String[] args) throws InterruptedException {
        if (args.length < 1) {
            System.err.println("usage: HeapPerKey OURS|BUCKET4J_MAP|BUCKET4J_CAFFEINE|ATOMIC_LONG_MAP [keys] [--footprint]");
            System.exit(2);
        }
        Configuration configuration = Configuration.valueOf(args[0]);
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        boolean footprint = args.length > 2 && args[2].equals("--footprint");
        String collector = ManagementFactory.getGarbageCollectorMXBeans().get(0).getName();
        if (!collector.startsWith("G1")) {
            System.err.println("warning: run under G1 (-XX:+UseG1GC); " + collector + " leaves objects in eden after System.gc()");
        }

        String[] keys = Keys.of(n);
        long before = settledUsedHeap();
        Tracker tracker = configuration.factory.apply(n);
        for (String key : keys) {
            if (!tracker.track().test(key)) {
                throw new IllegalStateException("the first request of " + key + " was denied");
            }
        }
        long after = settledUsedHeap();
        int lost = 0;
        for (String key : keys) {
            lost += tracker.tracked().test(key) ? 0 : 1;
        }
        if (lost > 0) {
            throw new IllegalStateException(lost + " of " + n + " keys were dropped before the measurement ended");
        }
        if (footprint) {
            System.out.println(GraphLayout.parseInstance(tracker.root()).toFootprint());
        }
        Reference.reachabilityFence(keys);
        Reference.reachabilityFence(tracker);
        System.out.printf(Locale.ROOT, "{\"configuration\":\"%s\",\"keys\":%d,\"bytesPerKey\":%.1f,"
                        + "\"jvm\":\"%s\",\"method\":\"MemoryMXBean used heap after System.gc(), G1\"}%n",
                configuration, n, (after - before) / (double) n, Runtime.version());
    }

    private static long settledUsedHeap() throws InterruptedException {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return memory.getHeapMemoryUsage().getUsed();
    }
}
