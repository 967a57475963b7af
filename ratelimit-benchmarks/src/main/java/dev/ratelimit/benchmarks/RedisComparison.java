package dev.ratelimit.benchmarks;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.redis.RedisRateLimiter;
import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.resource.ClientResources;
import java.io.PrintWriter;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Section 5 of the benchmarks: ours ({@link RedisRateLimiter}, token bucket) against Bucket4j's Lettuce
 * proxy manager, 64 concurrent callers on one Redis, on 1, 100, 1,000 and 100,000 keys with every call
 * admitted, then a flood of denied calls with our local deny cache on and off. A bounded load program,
 * not JMH: each scenario runs for a fixed time and each caller for at most {@link #MAX_CALLS} calls.
 *
 * <p>For each scenario it writes one JSON object (one line) with decisions per second, latency
 * percentiles (every call's nanoseconds recorded in a per-caller array, merged and sorted), the round
 * trips per decision counted in the client (a Lettuce {@link CommandLatencyRecorder} sees each command
 * the client sends), and the Redis commands per decision from {@code INFO commandstats} deltas, which
 * also count the commands a Lua script runs, and the CPU time per decision of the Redis process
 * ({@code INFO cpu}) and of this JVM. The counts are exact, so the target "one round trip per
 * decision" is checked from the client's count, and the server's count shows what each round trip costs.
 *
 * <p>Every scenario checks its premise and the program exits with status 1 if one fails: on the admitted
 * path every call must be admitted, on the flood at most one call per key (a refill) may be, and no call
 * may fail or fall back.
 *
 * <p>Run it against a Redis that nothing else uses, since the command counts are server-wide:
 * <pre>
 * ratelimit-benchmarks/run-redis.sh        # starts a private redis-server, runs this, stops it
 * java -Xms2g -Xmx2g -XX:+AlwaysPreTouch -cp ratelimit-benchmarks/target/benchmarks.jar dev.ratelimit.benchmarks.RedisComparison \
 *     redis://127.0.0.1:6479 docs/bench-data/redis.json [seconds] [warm-up seconds] [rounds]
 * </pre>
 * The environment variables {@code ADMITTED_KEYS} (default {@code 1,100,1000,100000}) and {@code FLOOD_KEYS}
 * (default {@code 1,100}) choose the key counts of the admitted and flood scenarios, so that one scenario can
 * be repeated on its own; an empty value skips them.
 */
public final class RedisComparison {

    static final int CALLERS = 64;
    /** Calls recorded per caller and scenario; 64 × this × 8 bytes of latency arrays. */
    static final int MAX_CALLS = 400_000;
    static final long ADMITTED_PERMITS = 4_000_000;
    private static final Pattern CPU = Pattern.compile("used_cpu_(?:sys|user):([0-9.]+)");
    /** This JVM's CPU time: the client's cost per decision, callers and Lettuce's event loop together. */
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    private static final Pattern IO = Pattern.compile("(?m)^total_(reads|writes)_processed:(\\d+)");
    private static final Pattern CALLS = Pattern.compile("cmdstat_([\\w|]+):calls=(\\d+),usec=(\\d+)");

    /** Who decides. */
    enum Contender {
        /** {@link RedisRateLimiter}, token bucket. */
        OURS,
        /** Ours with the local deny cache off. */
        OURS_NO_DENY_CACHE,
        /** Bucket4j 8.14's {@code Bucket4jLettuce.casBasedBuilder}, the only Lettuce proxy manager it has. */
        BUCKET4J_LETTUCE
    }

    record Scenario(String name, Contender contender, int keys, boolean flood) {
    }

    /** What one caller saw. */
    static final class Caller {
        final long[] nanos = new long[MAX_CALLS];

        Caller() {
            // Touch every page now: the first write to a fresh page costs a page fault, which would
            // otherwise land on whichever scenario first records that many calls.
            Arrays.fill(nanos, 1);
        }

        int calls;
        long admitted;
        long elapsedNanos;
    }

    /** Counts the commands this client sends, by type: one per round trip. */
    static final class SentCommands implements CommandLatencyRecorder {
        final Map<String, LongAdder> byType = new ConcurrentHashMap<>();

        @Override
        public void recordCommandLatency(SocketAddress local, SocketAddress remote, ProtocolKeyword type,
                                         long firstResponseLatency, long completionLatency) {
            byType.computeIfAbsent(type.toString(), k -> new LongAdder()).increment();
        }

        Map<String, Long> snapshot() {
            Map<String, Long> result = new TreeMap<>();
            byType.forEach((k, v) -> result.put(k.toLowerCase(Locale.ROOT), v.sum()));
            return result;
        }
    }

    interface Decider extends AutoCloseable {
        boolean tryAcquire(String key);

        default String health() {
            return "";
        }

        @Override
        default void close() {
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: RedisComparison <redis-uri> <out.json> [seconds=5] [warm-up seconds=2] [rounds=1]");
            System.exit(2);
        }
        String uri = args[0];
        Path out = Path.of(args[1]);
        long seconds = args.length > 2 ? Long.parseLong(args[2]) : 5;
        long warmUpSeconds = args.length > 3 ? Long.parseLong(args[3]) : 2;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 1;

        List<Scenario> scenarios = new ArrayList<>();
        int[] admittedKeys = counts("ADMITTED_KEYS", "1,100,1000,100000");
        for (int round = 1; round <= rounds; round++) {
            for (int k = 0; k < admittedKeys.length; k++) {
                // The key counts take turns at going first, one place on each round: the first scenario of
                // a round follows the previous round's floods, and in a fixed order the hot key always had it.
                int keys = admittedKeys[(k + round - 1) % admittedKeys.length];
                // Alternating, so that a disturbance hits both contenders alike, and who goes first swaps
                // each round, so that neither always runs on the colder JVM.
                List<Contender> pair = round % 2 == 1 ? List.of(Contender.OURS, Contender.BUCKET4J_LETTUCE)
                        : List.of(Contender.BUCKET4J_LETTUCE, Contender.OURS);
                for (Contender contender : pair) {
                    scenarios.add(new Scenario("admitted", contender, keys, false));
                }
            }
            for (int keys : counts("FLOOD_KEYS", "1,100")) {
                scenarios.add(new Scenario("denied flood", Contender.OURS, keys, true));
                scenarios.add(new Scenario("denied flood", Contender.OURS_NO_DENY_CACHE, keys, true));
                scenarios.add(new Scenario("denied flood", Contender.BUCKET4J_LETTUCE, keys, true));
            }
        }

        SentCommands sent = new SentCommands();
        ClientResources resources = ClientResources.builder().commandLatencyRecorder(sent).build();
        RedisClient client = RedisClient.create(resources, uri);
        String run = Long.toString(System.currentTimeMillis(), 36);
        Caller[] callers = new Caller[CALLERS];
        for (int i = 0; i < CALLERS; i++) {
            callers[i] = new Caller();
        }
        boolean ok = true;
        Files.createDirectories(out.toAbsolutePath().getParent());
        try (StatefulRedisConnection<String, String> admin = client.connect();
             PrintWriter json = new PrintWriter(Files.newBufferedWriter(out))) {
            // JIT warm-up for both contenders' code, discarded, so that the first scenario is not the cold one.
            for (Contender contender : List.of(Contender.OURS, Contender.BUCKET4J_LETTUCE)) {
                System.out.println("warm-up, discarded: " + run(client, admin, sent,
                        new Scenario("warm-up", contender, 1_000, false), "bench2:" + run + ":w:", callers,
                        warmUpSeconds, warmUpSeconds));
            }
            json.println("[");
            for (int s = 0; s < scenarios.size(); s++) {
                Scenario scenario = scenarios.get(s);
                String prefix = "bench2:" + run + ":" + s + ":";
                String result = run(client, admin, sent, scenario, prefix, callers, seconds, warmUpSeconds);
                ok &= !result.contains("\"premise\":\"FAILED");
                System.out.println(result);
                json.print(result);
                json.println(s + 1 < scenarios.size() ? "," : "");
                json.flush();
            }
            json.println("]");
        } finally {
            client.shutdown();
            resources.shutdown();
        }
        if (!ok) {
            System.err.println("a scenario's premise failed: see \"premise\" above");
            System.exit(1);
        }
    }

    private static String run(RedisClient client, StatefulRedisConnection<String, String> admin, SentCommands sent,
                              Scenario scenario, String prefix, Caller[] callers, long seconds, long warmUpSeconds)
            throws Exception {
        // Admitted: 4,000,000 per 365 days. No run here can spend that, and each call takes about 7.9 s to
        // refill, so a key stays in Redis (its TTL is the time until full) and the measured calls update
        // existing state. With a fast refill both stores would let each key expire within a millisecond
        // and every call would create it afresh. Flood: 10 an hour.
        long permits = scenario.flood() ? 10 : ADMITTED_PERMITS;
        Duration period = scenario.flood() ? Duration.ofHours(1) : Duration.ofDays(365);
        String[] keys = new String[scenario.keys()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = String.format("k%015d", i);
        }
        try (Decider decider = decider(client, scenario.contender(), prefix, permits, period)) {
            if (scenario.flood()) {
                for (String key : keys) { // Empty every bucket first.
                    for (int i = 0; i <= permits && decider.tryAcquire(key); i++) {
                        // bounded: permits + 1 calls at most
                    }
                }
            }
            load(decider, keys, callers, TimeUnit.SECONDS.toNanos(warmUpSeconds), false);
            Map<String, Long> serverBefore = commandStats(admin);
            Map<String, Long> sentBefore = sent.snapshot();
            double redisCpuBefore = redisCpuSeconds(admin);
            long[] ioBefore = redisIo(admin);
            long clientCpuBefore = OS.getProcessCpuTime();
            load(decider, keys, callers, TimeUnit.SECONDS.toNanos(seconds), true);
            long clientCpu = OS.getProcessCpuTime() - clientCpuBefore;
            double redisCpu = redisCpuSeconds(admin) - redisCpuBefore;
            long[] ioAfter = redisIo(admin);
            Map<String, Long> serverAfter = commandStats(admin);
            Map<String, Long> sentAfter = sent.snapshot();

            long decisions = 0;
            long admitted = 0;
            double perSecond = 0;
            boolean capped = false;
            for (Caller c : callers) {
                decisions += c.calls;
                admitted += c.admitted;
                perSecond += c.calls * 1e9 / c.elapsedNanos;
                capped |= c.calls == MAX_CALLS;
            }
            long[] all = new long[(int) decisions];
            int n = 0;
            for (Caller c : callers) {
                System.arraycopy(c.nanos, 0, all, n, c.calls);
                n += c.calls;
            }
            Arrays.sort(all);
            Map<String, Long> server = delta(serverBefore, serverAfter);
            server.remove("info");
            server.remove("usec:info");
            String usecPerCall = usecPerCall(server);
            Map<String, Long> roundTrips = delta(sentBefore, sentAfter);
            roundTrips.remove("info");
            long serverTotal = server.values().stream().mapToLong(Long::longValue).sum();
            long tripsTotal = roundTrips.values().stream().mapToLong(Long::longValue).sum();

            String premise;
            if (decisions == 0) {
                premise = "FAILED: no decisions";
            } else if (!scenario.flood() && admitted != decisions) {
                premise = "FAILED: " + (decisions - admitted) + " denied on the admitted path";
            } else if (scenario.flood() && admitted > keys.length) {
                premise = "FAILED: " + admitted + " admitted in the flood";
            } else if (!decider.health().isEmpty()) {
                premise = "FAILED: " + decider.health();
            } else {
                premise = "ok";
            }
            return String.format(Locale.ROOT,
                    "{\"scenario\":\"%s\",\"contender\":\"%s\",\"keys\":%d,\"callers\":%d,\"seconds\":%d,"
                            + "\"decisions\":%d,\"admitted\":%d,\"decisionsPerSecond\":%.1f,"
                            + "\"p50Micros\":%.1f,\"p90Micros\":%.1f,\"p99Micros\":%.1f,\"p999Micros\":%.1f,\"maxMicros\":%.1f,"
                            + "\"roundTripsPerDecision\":%.4f,\"roundTrips\":%s,"
                            + "\"redisCommandsPerDecision\":%.4f,\"redisCommands\":%s,\"redisUsecPerCall\":%s,"
                            + "\"redisReadsPerDecision\":%.4f,\"redisWritesPerDecision\":%.4f,"
                            + "\"redisCpuMicrosPerDecision\":%.3f,\"clientCpuMicrosPerDecision\":%.3f,"
                            + "\"capped\":%b,\"premise\":\"%s\"}",
                    scenario.name(), scenario.contender(), keys.length, CALLERS, seconds, decisions, admitted, perSecond,
                    percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99), percentile(all, 0.999),
                    all.length == 0 ? 0 : all[all.length - 1] / 1e3,
                    (double) tripsTotal / decisions, json(roundTrips), (double) serverTotal / decisions, json(server), usecPerCall,
                    (double) (ioAfter[0] - ioBefore[0]) / decisions, (double) (ioAfter[1] - ioBefore[1]) / decisions,
                    redisCpu * 1e6 / decisions, clientCpu / 1e3 / decisions, capped, premise);
        }
    }

    /** 64 callers, each walking the keys from its own offset, until the time or its call budget is spent. */
    private static void load(Decider decider, String[] keys, Caller[] callers, long nanos, boolean record)
            throws InterruptedException {
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        long[] failures = new long[1];
        for (int t = 0; t < callers.length; t++) {
            Caller caller = callers[t];
            int offset = (int) ((long) t * keys.length / callers.length);
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                long begin = System.nanoTime();
                long end = begin + nanos;
                int calls = 0;
                long admitted = 0;
                long now = begin;
                int k = offset;
                while (calls < MAX_CALLS && now < end) {
                    String key = keys[k];
                    if (++k == keys.length) {
                        k = 0;
                    }
                    if (decider.tryAcquire(key)) {
                        admitted++;
                    }
                    long after = System.nanoTime();
                    if (record) {
                        caller.nanos[calls] = after - now;
                    }
                    calls++;
                    now = after;
                }
                if (record) {
                    caller.calls = calls;
                    caller.admitted = admitted;
                    caller.elapsedNanos = now - begin;
                }
            }, "caller-" + t);
            thread.setUncaughtExceptionHandler((th, e) -> {
                synchronized (failures) {
                    failures[0]++;
                }
                e.printStackTrace();
            });
            threads.add(thread);
            thread.start();
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join(nanos / 1_000_000 + 60_000);
            if (thread.isAlive()) {
                throw new IllegalStateException(thread.getName() + " did not stop");
            }
        }
        if (failures[0] > 0) {
            throw new IllegalStateException(failures[0] + " callers failed");
        }
    }

    private static Decider decider(RedisClient client, Contender contender, String prefix, long permits, Duration period) {
        if (contender == Contender.BUCKET4J_LETTUCE) {
            StatefulRedisConnection<String, byte[]> connection =
                    client.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
            // The TTL our scripts set: the time until the bucket would be full again.
            ProxyManager<String> proxies = Bucket4jLettuce.casBasedBuilder(connection)
                    .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ZERO))
                    .build();
            BucketConfiguration configuration = BucketConfiguration.builder()
                    .addLimit(Bandwidth.builder().capacity(permits).refillGreedy(permits, period).build())
                    .build();
            return new Decider() {
                @Override
                public boolean tryAcquire(String key) {
                    // As bucket4j-spring-boot-starter and Bucket4j's documentation do: a proxy per call.
                    return proxies.builder().build(prefix + key, () -> configuration).tryConsume(1);
                }

                @Override
                public void close() {
                    connection.close();
                }
            };
        }
        RedisRateLimiter limiter = RedisRateLimiter.builder()
                .client(client)
                .keyPrefix(prefix)
                .algorithm(Algorithm.TOKEN_BUCKET)
                .limit(Limit.of(permits, period))
                .localDenyCache(contender == Contender.OURS)
                // Long enough that a busy shared machine does not turn latency into fallback decisions.
                .commandTimeout(Duration.ofSeconds(5))
                .build();
        return new Decider() {
            @Override
            public boolean tryAcquire(String key) {
                return limiter.tryAcquire(key).allowed();
            }

            @Override
            public String health() {
                return limiter.failedCalls() == 0 && limiter.fallbackDecisions() == 0 ? ""
                        : limiter.failedCalls() + " failed calls, " + limiter.fallbackDecisions() + " fallback decisions";
            }

            @Override
            public void close() {
                limiter.close();
            }
        };
    }

    /** Key counts from the environment variable {@code name}, comma-separated; empty runs none. */
    private static int[] counts(String name, String defaults) {
        String value = System.getenv().getOrDefault(name, defaults).trim();
        return value.isEmpty() ? new int[0] : Arrays.stream(value.split(",")).mapToInt(v -> Integer.parseInt(v.trim())).toArray();
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int index = (int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
        return sorted[Math.max(0, index)] / 1e3;
    }

    private static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> result = new TreeMap<>();
        after.forEach((k, v) -> {
            long d = v - before.getOrDefault(k, 0L);
            if (d != 0) {
                result.put(k, d);
            }
        });
        return result;
    }

    private static String json(Map<String, Long> counts) {
        StringBuilder sb = new StringBuilder("{");
        counts.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v));
        return sb.append('}').toString();
    }

    /** The Redis process's user plus system CPU time, from {@code INFO cpu}. */
    private static double redisCpuSeconds(StatefulRedisConnection<String, String> admin) {
        double seconds = 0;
        Matcher m = CPU.matcher(admin.sync().info("cpu"));
        while (m.find()) {
            seconds += Double.parseDouble(m.group(1));
        }
        return seconds;
    }

    /**
     * Redis's socket reads and writes so far ({@code total_reads_processed}, {@code total_writes_processed} of
     * {@code INFO stats}): per decision, they show how many commands arrive in one read and leave in one write.
     */
    private static long[] redisIo(StatefulRedisConnection<String, String> admin) {
        Matcher m = IO.matcher(admin.sync().info("stats"));
        long[] io = new long[2];
        while (m.find()) {
            io[m.group(1).equals("reads") ? 0 : 1] = Long.parseLong(m.group(2));
        }
        return io;
    }

    /** Calls per command, and under "usec:" + command the microseconds Redis spent in it. */
    private static Map<String, Long> commandStats(StatefulRedisConnection<String, String> admin) {
        Map<String, Long> calls = new TreeMap<>();
        Matcher m = CALLS.matcher(admin.sync().info("commandstats"));
        while (m.find()) {
            calls.put(m.group(1), Long.parseLong(m.group(2)));
            calls.put("usec:" + m.group(1), Long.parseLong(m.group(3)));
        }
        return calls;
    }

    /** Microseconds per call of each command in {@code server}, from its "usec:" entries, which it loses. */
    private static String usecPerCall(Map<String, Long> server) {
        StringBuilder sb = new StringBuilder("{");
        new ArrayList<>(server.keySet()).stream().filter(k -> k.startsWith("usec:")).forEach(k -> {
            long usec = server.remove(k);
            Long calls = server.get(k.substring(5));
            if (calls != null && calls > 0) {
                sb.append(sb.length() > 1 ? "," : "").append('"').append(k.substring(5)).append("\":")
                        .append(String.format(Locale.ROOT, "%.2f", (double) usec / calls));
            }
        });
        return sb.append('}').toString();
    }

    private RedisComparison() {
    }
}
