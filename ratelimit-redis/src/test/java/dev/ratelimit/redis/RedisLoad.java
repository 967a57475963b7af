package dev.ratelimit.redis;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bounded load program, not a test: 64 callers for a few seconds per scenario against
 * {@code REDIS_URL} (default the local 6379), printing decisions per second and Redis commands per
 * decision from {@code INFO commandstats} deltas. Every loop stops after its time or count.
 *
 * <pre>
 * ./mvnw -B -q -pl ratelimit-redis -am test-compile dependency:build-classpath \
 *     -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
 * java -cp "ratelimit-redis/target/test-classes:ratelimit-redis/target/classes:ratelimit-core/target/classes:$(cat ratelimit-redis/target/test-classpath.txt)" \
 *     dev.ratelimit.redis.RedisLoad
 * </pre>
 */
public final class RedisLoad {

    private static final int CALLERS = 64;
    private static final long SECONDS = 3;
    private static final long MAX_CALLS_PER_CALLER = 2_000_000;
    private static final Pattern CALLS = Pattern.compile("cmdstat_(\\w+):calls=(\\d+)");

    public static void main(String[] args) throws Exception {
        RedisClient client = TestRedis.client();
        try (StatefulRedisConnection<String, String> admin = client.connect()) {
            for (Algorithm algorithm : Algorithm.values()) {
                run(client, admin, algorithm, "one key, admitted", 1, Limit.of(1_000_000, Duration.ofSeconds(1)), true);
                run(client, admin, algorithm, "10,000 keys, admitted", 10_000, Limit.of(1_000_000, Duration.ofSeconds(1)), true);
            }
            for (Algorithm algorithm : List.of(Algorithm.TOKEN_BUCKET, Algorithm.SLIDING_WINDOW_COUNTER)) {
                run(client, admin, algorithm, "one key, denied flood, deny cache on", 1,
                        Limit.of(10, Duration.ofMinutes(1)), true);
                run(client, admin, algorithm, "one key, denied flood, deny cache off", 1,
                        Limit.of(10, Duration.ofMinutes(1)), false);
            }
        } finally {
            client.shutdown();
        }
    }

    private static void run(RedisClient client, StatefulRedisConnection<String, String> admin, Algorithm algorithm,
                            String scenario, int keys, Limit limit, boolean denyCache) throws Exception {
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).keyPrefix(TestRedis.prefix())
                .algorithm(algorithm).limit(limit).localDenyCache(denyCache).commandTimeout(Duration.ofSeconds(1))
                .build()) {
            limiter.tryAcquire("warm-up");
            Map<String, Long> before = commandStats(admin);
            LongAdder decisions = new LongAdder();
            LongAdder allowed = new LongAdder();
            ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
            long start = System.nanoTime();
            long end = start + TimeUnit.SECONDS.toNanos(SECONDS);
            AtomicLong next = new AtomicLong();
            List<Future<?>> futures = new ArrayList<>();
            for (int c = 0; c < CALLERS; c++) {
                futures.add(pool.submit(() -> {
                    for (long i = 0; i < MAX_CALLS_PER_CALLER && System.nanoTime() < end; i++) {
                        String key = "k" + (next.getAndIncrement() % keys);
                        if (limiter.tryAcquire(key).allowed()) {
                            allowed.increment();
                        }
                        decisions.increment();
                    }
                }));
            }
            for (Future<?> future : futures) {
                future.get(SECONDS + 30, TimeUnit.SECONDS);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            pool.shutdown();
            Map<String, Long> after = commandStats(admin);
            StringBuilder perDecision = new StringBuilder();
            long total = 0;
            for (Map.Entry<String, Long> e : after.entrySet()) {
                long delta = e.getValue() - before.getOrDefault(e.getKey(), 0L);
                if (delta > 0 && !e.getKey().equals("info")) {
                    total += delta;
                    perDecision.append(String.format(" %s=%.3f", e.getKey(), (double) delta / decisions.sum()));
                }
            }
            System.out.printf("%-22s %-40s %,10.0f decisions/s (%,d decisions, %,d admitted, %d failed, %,d saved by the"
                            + " deny cache); Redis commands per decision: %.3f [%s ]%n", algorithm, scenario,
                    decisions.sum() / seconds, decisions.sum(), allowed.sum(), limiter.failedCalls(), limiter.savedCalls(),
                    (double) total / decisions.sum(), perDecision.toString().trim());
        }
    }

    private static Map<String, Long> commandStats(StatefulRedisConnection<String, String> admin) {
        Map<String, Long> calls = new TreeMap<>();
        Matcher m = CALLS.matcher(admin.sync().info("commandstats"));
        while (m.find()) {
            calls.put(m.group(1), Long.parseLong(m.group(2)));
        }
        return calls;
    }
}
