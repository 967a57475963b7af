package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Requests that wait behind busy calls share one call, on a redis-server of the test's own that
 * {@code CLIENT PAUSE} holds still: the first {@link Coalescer#MAX_IN_FLIGHT} requests are sent
 * alone and stuck, every later one queues, and when the pause ends the first call to complete
 * sends all of them as one. Counts come from the server's {@code INFO commandstats}, which no
 * other client touches.
 */
class CoalescerTest {

    private static final int REQUESTS = 40;

    private RedisProcess redis;
    private RedisClient client;
    private StatefulRedisConnection<String, String> admin;
    private ExecutorService threads;

    @BeforeEach
    void start() {
        redis = new RedisProcess();
        client = RedisClient.create(RedisURI.create(redis.uri()));
        admin = client.connect();
        threads = Executors.newFixedThreadPool(REQUESTS);
    }

    @AfterEach
    void stop() throws InterruptedException {
        threads.shutdownNow();
        assertThat(threads.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        admin.close();
        client.shutdown();
        redis.close();
    }

    /**
     * The flat scripts (token bucket, fixed window) and the general ones (the sliding windows) alike.
     * Not the leaky bucket: requests in one flat call share an instant, and it lets one go per instant.
     */
    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = {"TOKEN_BUCKET", "FIXED_WINDOW", "SLIDING_WINDOW_LOG", "SLIDING_WINDOW_COUNTER"})
    void requestsThatWaitBehindBusyCallsShareOneCallAndEachIsDecidedExactly(Algorithm algorithm) throws Exception {
        // Four clients of capacity 5, ten requests each: exactly five admitted per client, with
        // remaining 4, 3, 2, 1, 0, however the requests were grouped into calls.
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(Duration.ofSeconds(10))
                .keyPrefix(TestRedis.prefix()).localDenyCache(false).algorithm(algorithm)
                .limit(Limit.of(5, Duration.ofHours(1))).build()) {
            assertThat(limiter.tryAcquire("warm-up").allowed()).isTrue(); // the script is cached: no NOSCRIPT retry below
            admin.sync().configResetstat();
            List<Decision>[] byClient = run(limiter, 1_500, i -> "client-" + i % 4);

            long calls = evalshaCalls();
            System.out.println(REQUESTS + " requests in " + calls + " calls");
            // MAX_IN_FLIGHT went alone; the rest waited and went together, a few more calls at most
            // if a request came only after the pause had ended.
            assertThat(calls).isBetween((long) Coalescer.MAX_IN_FLIGHT + 1, (long) Coalescer.MAX_IN_FLIGHT + 4);
            for (List<Decision> decisions : byClient) {
                assertThat(decisions).hasSize(REQUESTS / 4);
                assertThat(decisions.stream().filter(Decision::allowed).map(Decision::remaining).sorted())
                        .containsExactly(0L, 1L, 2L, 3L, 4L);
                assertThat(decisions.stream().filter(d -> !d.allowed()).map(Decision::remaining)).containsOnly(0L);
            }
        }
    }

    /**
     * A cluster's keys lie in many slots, and one call may only take keys of one: requests for
     * different clients' slots each go alone, however many wait, while a hot client's requests
     * share calls as on a single Redis. The coalescer is built the same way for a standalone
     * connection a test says is a cluster's, whose server CLIENT PAUSE can hold.
     */
    @Test
    void onAClusterConnectionOnlyOneSlotsRequestsShareACall() throws Exception {
        try (StatefulRedisConnection<String, String> connection = client.connect()) {
            LuaPolicy lua = LuaPolicy.of(new dev.ratelimit.core.Policy(Algorithm.TOKEN_BUCKET,
                    List.of(Limit.of(5, Duration.ofHours(1)))));
            ScriptRunner runner = new ScriptRunner(RedisConnection.given(
                    new RedisConnection.Commands(connection), true), lua,
                    Duration.ofSeconds(10).toNanos());
            Coalescer coalescer = new Coalescer(runner, lua, new CircuitBreaker(1_000_000_000L, FailureMode.OPEN), true);
            String prefix = TestRedis.prefix();
            coalescer.decide(prefix + "{warm-up}", new LuaPolicy.Request("", "a", 1, 0));

            List<String> spread = new ArrayList<>();
            java.util.Set<Integer> slots = new java.util.HashSet<>();
            for (int i = 0; spread.size() < REQUESTS; i++) {
                String key = prefix + "{c" + i + "}";
                if (slots.add(io.lettuce.core.cluster.SlotHash.getSlot(key))) { // one request per slot
                    spread.add(key);
                }
            }
            assertThat(callsFor(coalescer, spread)).isEqualTo(REQUESTS);

            String hot = prefix + "{hot}";
            long calls = callsFor(coalescer, java.util.Collections.nCopies(REQUESTS, hot));
            System.out.println("cluster, one slot: " + REQUESTS + " requests in " + calls + " calls");
            assertThat(calls).isBetween((long) Coalescer.MAX_IN_FLIGHT + 1, (long) Coalescer.MAX_IN_FLIGHT + 4);
        }
    }

    /** Sends one request per key, all while Redis is paused, and counts the EVALSHA calls they took. */
    private long callsFor(Coalescer coalescer, List<String> keys) throws Exception {
        admin.sync().configResetstat();
        admin.sync().clientPause(1_000);
        List<Future<Reply>> replies = new ArrayList<>();
        for (String key : keys) {
            replies.add(threads.submit(() -> coalescer.decide(key, new LuaPolicy.Request("", "a", 1, 0))));
        }
        long admitted = 0;
        for (Future<Reply> reply : replies) {
            admitted += reply.get(20, TimeUnit.SECONDS).allowed() ? 1 : 0;
        }
        // Capacity 5 a client: every request of a spread client, five of the hot one's.
        assertThat(admitted).isEqualTo(new java.util.HashSet<>(keys).size() == 1 ? 5 : keys.size());
        return evalshaCalls();
    }

    @Test
    void aRequestWaitingBehindStuckCallsTimesOutByItsOwnDeadlineAndTheLimiterRecovers() throws Exception {
        Duration timeout = Duration.ofMillis(200);
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client).commandTimeout(timeout)
                .circuitBreakerWait(Duration.ofMillis(100)).keyPrefix(TestRedis.prefix())
                .limit(Limit.of(1_000_000, Duration.ofSeconds(1))).build()) {
            assertThat(limiter.tryAcquire("warm-up").allowed()).isTrue();
            admin.sync().clientPause(2_000);
            List<Future<Long>> stuck = new ArrayList<>();
            for (int i = 0; i < Coalescer.MAX_IN_FLIGHT; i++) {
                String key = "stuck-" + i;
                stuck.add(threads.submit(() -> timed(() -> limiter.tryAcquire(key))));
            }
            // Behind them: sent only when a slot frees, which takes their timeouts here.
            long waited = timed(() -> assertThat(limiter.tryAcquire("queued").allowed()).isTrue()); // failure mode OPEN
            for (Future<Long> call : stuck) {
                assertThat(call.get(10, TimeUnit.SECONDS)).isLessThan(timeout.toNanos() + 1_000_000_000L);
            }
            assertThat(waited).isLessThan(timeout.toNanos() + 1_000_000_000L);
            assertThat(limiter.isAvailable()).isFalse();
            assertThat(limiter.failedCalls()).isBetween(1L, Coalescer.MAX_IN_FLIGHT + 1L);
            assertThat(limiter.fallbackDecisions()).isEqualTo(Coalescer.MAX_IN_FLIGHT + 1L);

            // Once the pause ends, a probe gets through and Redis decides again (bounded: 5 s).
            long until = System.nanoTime() + 5_000_000_000L;
            while (!limiter.isAvailable() && System.nanoTime() < until) {
                limiter.tryAcquire("probe");
                Thread.sleep(20);
            }
            assertThat(limiter.isAvailable()).isTrue();
            long fallbacks = limiter.fallbackDecisions();
            assertThat(limiter.tryAcquire("after").allowed()).isTrue();
            assertThat(limiter.fallbackDecisions()).isEqualTo(fallbacks);
        }
    }

    /**
     * A request drained into a call by another thread, which is slow to send it (here: the
     * connection's dispatch), times out before that call is published to it. It is in that call,
     * whose timeout the breaker hears of; its caller must not count it again as a request timed
     * out in the queue: one call, one failure. The connection holds every call it is given, so
     * that none is answered: the eight calls ahead time out first, and the first of their callers
     * to give up drains the request behind them, and is slow to dispatch it.
     */
    @Test
    void aRequestGivenUpAsAnotherThreadSendsItIsCountedOnceWithItsCall() throws Exception {
        Duration timeout = Duration.ofMillis(200);
        try (StatefulRedisConnection<String, String> real = client.connect()) {
            java.util.concurrent.atomic.AtomicInteger dispatched = new java.util.concurrent.atomic.AtomicInteger();
            @SuppressWarnings("unchecked")
            StatefulRedisConnection<String, String> slow = (StatefulRedisConnection<String, String>)
                    java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                            new Class<?>[] {StatefulRedisConnection.class}, (proxy, method, args) -> {
                                if (method.getName().equals("dispatch") && args.length == 1
                                        && args[0] instanceof io.lettuce.core.protocol.RedisCommand<?, ?, ?> command) {
                                    if (dispatched.incrementAndGet() > Coalescer.MAX_IN_FLIGHT) {
                                        Thread.sleep(timeout.toMillis() + 300); // past the caller's deadline
                                    }
                                    return command; // held: never written, so the call ends only when given up
                                }
                                try {
                                    return method.invoke(real, args);
                                } catch (java.lang.reflect.InvocationTargetException e) {
                                    throw e.getCause();
                                }
                            });
            LuaPolicy lua = LuaPolicy.of(new dev.ratelimit.core.Policy(Algorithm.TOKEN_BUCKET,
                    List.of(Limit.of(5, Duration.ofHours(1)))));
            ScriptRunner runner = new ScriptRunner(RedisConnection.given(new RedisConnection.Commands(slow), false),
                    lua, timeout.toNanos());
            CircuitBreaker breaker = new CircuitBreaker(1_000_000_000L, FailureMode.OPEN);
            Coalescer coalescer = new Coalescer(runner, lua, breaker, false);
            String prefix = TestRedis.prefix();
            List<Future<?>> stuck = new ArrayList<>();
            long until = System.nanoTime() + 5_000_000_000L;
            for (int i = 0; i < Coalescer.MAX_IN_FLIGHT; i++) {
                String key = prefix + "{stuck-" + i + "}";
                stuck.add(threads.submit(() -> coalescer.decide(key, new LuaPolicy.Request("", "a", 1, 0))));
                while (dispatched.get() <= i && System.nanoTime() < until) {
                    Thread.sleep(1); // one at a time: requests that arrive together would share a call
                }
            }
            assertThat(dispatched.get()).as("every slot taken, a call each").isEqualTo(Coalescer.MAX_IN_FLIGHT);
            Future<?> late = threads.submit(() -> coalescer.decide(prefix + "{late}", new LuaPolicy.Request("", "a", 1, 0)));
            for (Future<?> call : stuck) {
                assertThat(call).failsWithin(Duration.ofSeconds(10));
            }
            assertThat(late).failsWithin(Duration.ofSeconds(10));
            until = System.nanoTime() + 5_000_000_000L;
            while (breaker.failures() < Coalescer.MAX_IN_FLIGHT + 1 && System.nanoTime() < until) {
                Thread.sleep(1); // the late call is published, and so cancelled, after its caller gave up
            }
            Thread.sleep(100); // any second count of it would come by now
            assertThat(dispatched.get()).as("the late request was sent, in a call of its own").isEqualTo(Coalescer.MAX_IN_FLIGHT + 1);
            assertThat(breaker.failures()).as("nine calls timed out, each counted once").isEqualTo(Coalescer.MAX_IN_FLIGHT + 1);
        }
    }

    private interface Action {
        void run() throws Exception;
    }

    private static long timed(Action action) throws Exception {
        long start = System.nanoTime();
        action.run();
        return System.nanoTime() - start;
    }

    /** Sends REQUESTS requests from as many threads while Redis is paused for {@code pauseMillis}. */
    @SuppressWarnings("unchecked")
    private List<Decision>[] run(RedisRateLimiter limiter, long pauseMillis, java.util.function.IntFunction<String> key)
            throws Exception {
        admin.sync().clientPause(pauseMillis);
        List<Future<Decision>> decisions = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            String client = key.apply(i);
            decisions.add(threads.submit(() -> limiter.tryAcquire(client)));
        }
        Map<String, List<Decision>> byClient = new TreeMap<>();
        for (int i = 0; i < REQUESTS; i++) {
            byClient.computeIfAbsent(key.apply(i), k -> new ArrayList<>()).add(decisions.get(i).get(20, TimeUnit.SECONDS));
        }
        return byClient.values().toArray(new List[0]);
    }

    private long evalshaCalls() {
        return TestRedis.calls(admin.sync().info("commandstats"), "evalsha");
    }
}
