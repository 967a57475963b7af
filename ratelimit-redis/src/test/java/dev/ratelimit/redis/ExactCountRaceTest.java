package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import io.lettuce.core.AbstractRedisClient;
import io.lettuce.core.RedisClient;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Distributed means exact: three limiters, each with its own Lettuce client (as three app nodes
 * would have), race 24 threads on one key of capacity C, and exactly C permits are admitted.
 * The interleaving hunted: two nodes reading the same state and both admitting the last permit,
 * which a read-then-write implementation allows and one atomic script cannot. Real Redis time;
 * the periods are long enough that nothing refills during the race. Runs on a standalone Redis
 * and on a three-master cluster, with keys that land on every master.
 */
class ExactCountRaceTest {

    private static final int CAPACITY = 150;
    private static final int NODES = 3;
    private static final int THREADS_PER_NODE = 8;
    private static final int ATTEMPTS_PER_THREAD = 30;

    private static RedisCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = new RedisCluster();
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = "LEAKY_BUCKET", mode = EnumSource.Mode.EXCLUDE)
    void standaloneAdmitsExactlyTheCapacity(Algorithm algorithm) throws Exception {
        Policy policy = policy(algorithm);
        String prefix = TestRedis.prefix();
        assertThat(race(policy, prefix, "one-key", () -> RedisClient.create(TestRedis.uri()))).isEqualTo(CAPACITY);
    }

    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = "LEAKY_BUCKET", mode = EnumSource.Mode.EXCLUDE)
    void clusterAdmitsExactlyTheCapacityOnEveryMaster(Algorithm algorithm) throws Exception {
        Policy policy = policy(algorithm);
        String prefix = TestRedis.prefix();
        LuaPolicy lua = LuaPolicy.of(policy);
        KeyLayout layout = new KeyLayout(prefix, lua.stateName());
        Set<Integer> masters = new TreeSet<>();
        List<String> clients = new ArrayList<>();
        for (int i = 0; masters.size() < 3 && i < 1000; i++) {
            int master = SlotHash.getSlot(layout.key("client-" + i)) * 3 / 16384;
            if (masters.add(master)) {
                clients.add("client-" + i);
            }
        }
        assertThat(clients).hasSize(3);
        for (String client : clients) {
            assertThat(race(policy, prefix, client, () -> RedisClusterClient.create(cluster.uris())))
                    .as("admitted for %s", client).isEqualTo(CAPACITY);
        }
    }

    /**
     * On the cluster, a hot client's requests share calls (one slot's coalescer; see Coalescer),
     * and the count stays exact: 48 threads of one limiter on one key, without the deny cache so
     * that every request reaches Redis, take fewer EVALSHA calls than requests, summed over the
     * masters' INFO commandstats, and exactly the capacity is admitted.
     */
    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = {"TOKEN_BUCKET", "SLIDING_WINDOW_LOG"})
    void clusterHotKeyRequestsShareCallsAndStayExact(Algorithm algorithm) throws Exception {
        List<RedisClient> nodes = new ArrayList<>();
        for (io.lettuce.core.RedisURI uri : cluster.uris()) {
            nodes.add(RedisClient.create(uri));
        }
        RedisClusterClient client = RedisClusterClient.create(cluster.uris());
        ExecutorService pool = Executors.newFixedThreadPool(48);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().policy(policy(algorithm)).keyPrefix(TestRedis.prefix())
                .commandTimeout(Duration.ofSeconds(5)).localDenyCache(false).client(client).build()) {
            assertThat(limiter.tryAcquire("warm-up").allowed()).isTrue(); // loads the script on that master
            for (RedisClient node : nodes) {
                try (var connection = node.connect()) {
                    connection.sync().configResetstat();
                }
            }
            AtomicLong admitted = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 48; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int a = 0; a < ATTEMPTS_PER_THREAD; a++) {
                        if (limiter.tryAcquire("hot").allowed()) {
                            admitted.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
            assertThat(limiter.failedCalls()).as("failed Redis calls").isZero();
            assertThat(admitted.get()).isEqualTo(CAPACITY);
            long calls = 0;
            for (RedisClient node : nodes) {
                try (var connection = node.connect()) {
                    calls += TestRedis.calls(connection.sync().info("commandstats"), "evalsha");
                }
            }
            System.out.println("cluster hot key, " + algorithm + ": " + 48 * ATTEMPTS_PER_THREAD + " requests in "
                    + calls + " calls");
            assertThat(calls).isPositive().isLessThan(48L * ATTEMPTS_PER_THREAD);
        } finally {
            pool.shutdownNow();
            client.shutdown();
            nodes.forEach(RedisClient::shutdown);
        }
    }

    /** The leaky bucket is a shaper: the racers find an empty queue exactly once. */
    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = "LEAKY_BUCKET")
    void leakyBucketAdmitsOneAtATime(Algorithm algorithm) throws Exception {
        assertThat(race(policy(algorithm), TestRedis.prefix(), "one-key", () -> RedisClient.create(TestRedis.uri())))
                .isEqualTo(1);
    }

    private static Policy policy(Algorithm algorithm) {
        // a day keeps the counter's capacity * period below 2^52; nothing refills within the race
        Duration period = algorithm == Algorithm.SLIDING_WINDOW_COUNTER ? Duration.ofDays(1) : Duration.ofDays(365);
        return new Policy(algorithm, List.of(Limit.of(CAPACITY, period)));
    }

    private static long race(Policy policy, String prefix, String key, Supplier<AbstractRedisClient> clients)
            throws Exception {
        List<AbstractRedisClient> opened = new ArrayList<>();
        List<RedisRateLimiter> limiters = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(NODES * THREADS_PER_NODE);
        try {
            for (int i = 0; i < NODES; i++) {
                AbstractRedisClient client = clients.get();
                opened.add(client);
                RedisRateLimiter.Builder builder = RedisRateLimiter.builder().policy(policy).keyPrefix(prefix)
                        .commandTimeout(Duration.ofSeconds(5));
                if (client instanceof RedisClusterClient c) {
                    builder.client(c);
                } else {
                    builder.client((RedisClient) client);
                }
                limiters.add(builder.build());
            }
            AtomicLong admitted = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (RedisRateLimiter limiter : limiters) {
                for (int t = 0; t < THREADS_PER_NODE; t++) {
                    futures.add(pool.submit(() -> {
                        start.await();
                        for (int a = 0; a < ATTEMPTS_PER_THREAD; a++) {
                            if (limiter.tryAcquire(key).allowed()) {
                                admitted.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
            }
            start.countDown();
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
            for (RedisRateLimiter limiter : limiters) {
                assertThat(limiter.failedCalls()).as("failed Redis calls").isZero();
            }
            return admitted.get();
        } finally {
            pool.shutdownNow();
            limiters.forEach(RedisRateLimiter::close);
            opened.forEach(AbstractRedisClient::shutdown);
        }
    }
}
