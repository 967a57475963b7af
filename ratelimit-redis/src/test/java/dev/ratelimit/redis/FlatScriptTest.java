package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The flat single-limit scripts against the general scripts they stand in for. The same seeded
 * random calls (op, permits, max wait, time) go to three keys: one that only the general script
 * runs on, one that only the flat script runs on, and one where the two take turns at random.
 * Every reply must be the general script's, field for field, and every key must hold the same
 * state, so either script continues the other's keys: state written before an upgrade, or by a
 * node still running the previous version. Foreign or malformed state must read as a fresh key in
 * both. Replay one case with {@code -Dratelimit.case=ALGORITHM:seed}.
 */
class FlatScriptTest {

    private static final long TIMEOUT_NANOS = Duration.ofSeconds(2).toNanos();

    private static RedisClient client;
    private static StatefulRedisConnection<String, String> connection;
    private static RedisConnection commands;

    @BeforeAll
    static void connect() {
        client = TestRedis.client();
        connection = client.connect();
        commands = RedisConnection.given(new RedisConnection.Commands(connection), false);
    }

    @AfterAll
    static void close() {
        connection.close();
        client.shutdown();
    }

    static List<Object[]> cases() {
        return seeded(List.of(Algorithm.TOKEN_BUCKET, Algorithm.LEAKY_BUCKET, Algorithm.FIXED_WINDOW), 6);
    }

    static List<Object[]> everyAlgorithm() {
        return seeded(List.of(Algorithm.values()), 3);
    }

    /** {@code each} seeded cases per algorithm, or the one that {@code -Dratelimit.case} names. */
    private static List<Object[]> seeded(List<Algorithm> algorithms, int each) {
        String only = System.getProperty("ratelimit.case");
        if (only != null) {
            String[] parts = only.split(":");
            return List.<Object[]>of(new Object[] {Algorithm.valueOf(parts[0]), Long.parseLong(parts[1])});
        }
        List<Object[]> cases = new ArrayList<>();
        long seed = System.nanoTime();
        for (Algorithm algorithm : algorithms) {
            for (int i = 0; i < each; i++) {
                cases.add(new Object[] {algorithm, seed + 31L * i + algorithm.ordinal()});
            }
        }
        return cases;
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("cases")
    void flatScriptDecidesAndStoresAsTheGeneralOne(Algorithm algorithm, long seed) {
        Random random = new Random(seed);
        Policy policy = new Policy(algorithm, List.of(randomLimit(random)));
        LuaPolicy flat = LuaPolicy.of(policy);
        LuaPolicy general = LuaPolicy.general(policy);
        assertThat(flat.sha()).isNotEqualTo(general.sha());
        ScriptRunner flatRunner = new ScriptRunner(commands, flat, TIMEOUT_NANOS);
        ScriptRunner generalRunner = new ScriptRunner(commands, general, TIMEOUT_NANOS);
        RedisCommands<String, String> sync = connection.sync();
        String prefix = TestRedis.prefix();
        String[] onlyGeneral = {prefix + "{g}:" + flat.stateName()};
        String[] onlyFlat = {prefix + "{f}:" + flat.stateName()};
        String[] mixed = {prefix + "{m}:" + flat.stateName()};
        long longest = policy.limits().get(0).periodNanos() / 1000;
        // Negative times too: the test ticker may read anything within ±2^51 µs.
        long now = random.nextBoolean() ? 1_700_000_000_000_000L + random.nextInt(1_000_000)
                : -(1L << 40) + random.nextInt(1_000_000);
        for (int step = 0; step < 400; step++) {
            String what = "step " + step + ", t=" + now + " µs, policy " + policy + ", seed " + seed;
            int kind = random.nextInt(50);
            if (kind == 0) {
                sync.del(onlyGeneral[0], onlyFlat[0], mixed[0]);
            } else if (kind == 1) {
                // What another format, another width (several limits) or a damaged key would hold.
                String foreign = List.of("2|5|0", "1|5", "1|5|0|7|0", "", "x").get(random.nextInt(5));
                for (String[] key : List.of(onlyGeneral, onlyFlat, mixed)) {
                    sync.set(key[0], foreign);
                }
                what += ", over state '" + foreign + "'";
            }
            LuaPolicy.Request request = randomRequest(random, policy, now);
            String[] flatArgs = flat.args(new LuaPolicy.Request[] {request}, 0, 1);
            String[] generalArgs = general.args(new LuaPolicy.Request[] {request}, 0, 1);
            what += ", " + request;

            long[] expected = generalRunner.run(onlyGeneral, generalArgs);
            assertThat(flatRunner.run(onlyFlat, flatArgs)).as(what).isEqualTo(expected);
            boolean flatTurn = random.nextBoolean();
            assertThat((flatTurn ? flatRunner : generalRunner).run(mixed, flatTurn ? flatArgs : generalArgs))
                    .as(what + ", mixed").isEqualTo(expected);
            String state = sync.get(onlyGeneral[0]);
            assertThat(sync.get(onlyFlat[0])).as(what).isEqualTo(state);
            assertThat(sync.get(mixed[0])).as(what + ", mixed").isEqualTo(state);
            // Both set the same whole milliseconds; allow for the real time between the calls.
            long ttl = sync.pttl(onlyGeneral[0]);
            assertThat(sync.pttl(onlyFlat[0])).as(what + ", PTTL").isBetween(ttl - 1000, ttl + 1000);
            now += advance(random, longest);
        }
    }

    /**
     * One call for several keys, as the coalescer sends them, against the same requests sent one
     * call each: the same replies, in order, and the same state. Keys repeat within a call, so a
     * later request must see what an earlier one in the same call wrote; each request has its own
     * time, as callers of a test ticker read it.
     */
    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("cases")
    void oneCallForSeveralKeysDecidesEachAsItsOwnCallWould(Algorithm algorithm, long seed) {
        Random random = new Random(seed);
        Policy policy = new Policy(algorithm, List.of(randomLimit(random)));
        LuaPolicy flat = LuaPolicy.of(policy);
        assertThat(flat.flat()).isTrue();
        severalKeysInOneCallDecideAsAlone(flat, random, seed);
    }

    /** The same for the general scripts: every algorithm, one limit or two. */
    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("everyAlgorithm")
    void oneCallOfTheGeneralScriptForSeveralKeysDecidesEachAsItsOwnCallWould(Algorithm algorithm, long seed) {
        Random random = new Random(seed);
        List<Limit> limits = random.nextBoolean() ? List.of(randomLimit(random))
                : List.of(randomLimit(random), randomLimit(random));
        LuaPolicy general = LuaPolicy.general(new Policy(algorithm, limits));
        assertThat(general.flat()).isFalse();
        severalKeysInOneCallDecideAsAlone(general, random, seed);
    }

    private void severalKeysInOneCallDecideAsAlone(LuaPolicy lua, Random random, long seed) {
        Policy policy = lua.policy();
        ScriptRunner runner = new ScriptRunner(commands, lua, TIMEOUT_NANOS);
        RedisCommands<String, String> sync = connection.sync();
        String together = TestRedis.prefix();
        String alone = TestRedis.prefix();
        long longest = policy.limits().stream().mapToLong(Limit::periodNanos).max().orElseThrow() / 1000;
        long now = 1_700_000_000_000_000L + random.nextInt(1_000_000);
        for (int round = 0; round < 40; round++) {
            int count = 1 + random.nextInt(Coalescer.MAX_KEYS);
            int clients = 1 + random.nextInt(6);
            if (random.nextInt(4) == 0) {
                // State that reads as a fresh key, and stays so while only peeks and denials follow.
                String foreign = List.of("2|5|0", "1|5", "x").get(random.nextInt(3));
                String client = "{c" + random.nextInt(clients) + "}:" + lua.stateName();
                sync.set(together + client, foreign);
                sync.set(alone + client, foreign);
            }
            String[] keysTogether = new String[count];
            String[] clientOf = new String[count];
            LuaPolicy.Request[] requests = new LuaPolicy.Request[count];
            for (int i = 0; i < count; i++) {
                clientOf[i] = "{c" + random.nextInt(clients) + "}:" + lua.stateName();
                keysTogether[i] = together + clientOf[i];
                // Callers read the ticker at slightly different times, not always in the order they are sent.
                requests[i] = randomRequest(random, policy, now + random.nextInt(3));
            }
            long[] replies = runner.run(keysTogether, lua.args(requests, 0, count));
            assertThat(replies).hasSize(7 * count);
            for (int i = 0; i < count; i++) {
                String what = "round " + round + ", request " + i + " of " + count + ", " + requests[i] + ", policy "
                        + policy + ", seed " + seed;
                long[] expected = runner.run(new String[] {alone + clientOf[i]}, lua.args(requests, i, 1));
                assertThat(Arrays.copyOfRange(replies, 7 * i, 7 * i + 7)).as(what).isEqualTo(expected);
            }
            for (String client : clientOf) {
                assertThat(state(sync, together + client)).as("state of %s, round %d, seed %d", client, round, seed)
                        .isEqualTo(state(sync, alone + client));
                long ttl = sync.pttl(alone + client);
                assertThat(sync.pttl(together + client)).as("PTTL of %s, round %d, seed %d", client, round, seed)
                        .isBetween(ttl - 1000, ttl + 1000);
            }
            now += advance(random, longest);
        }
    }

    /**
     * The requests of one general call share Redis's TIME, as a flat call's do: two admissions of
     * one sliding-log key in one call fall on one instant, so the log holds one entry of 2 permits
     * (a header and one entry), where two instants would have made two entries.
     */
    @Test
    void theKeysOfOneGeneralCallShareOneInstant() {
        LuaPolicy general = LuaPolicy.general(new Policy(Algorithm.SLIDING_WINDOW_LOG, List.of(Limit.of(10, Duration.ofHours(1)))));
        String key = TestRedis.prefix() + "{t}:" + general.stateName();
        LuaPolicy.Request take = new LuaPolicy.Request("", "a", 1, 0);
        long[] replies = new ScriptRunner(commands, general, TIMEOUT_NANOS)
                .run(new String[] {key, key}, general.args(new LuaPolicy.Request[] {take, take}, 0, 2));
        assertThat(replies[0]).isEqualTo(1);
        assertThat(replies[7]).isEqualTo(1);
        assertThat(replies[8]).as("remaining after the second").isEqualTo(8);
        List<String> log = connection.sync().lrange(key, 0, -1);
        assertThat(log).hasSize(2);
        assertThat(log.get(1)).endsWith(":2");
    }

    /**
     * A key of another Redis type (a list or a hash, as something else writing under the prefix
     * might leave) reads as a fresh key in every script, flat or general: a peek leaves it as it
     * is and an admission overwrites it with the state a fresh key gets. Failing the call instead
     * would open the breaker, and the failure mode would decide for every client.
     */
    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aKeyOfAnotherTypeReadsAsAFreshKey(Algorithm algorithm) {
        Policy one = new Policy(algorithm, List.of(Limit.of(5, Duration.ofSeconds(10))));
        Policy two = new Policy(algorithm, List.of(Limit.of(5, Duration.ofSeconds(10)), Limit.of(50, Duration.ofMinutes(10))));
        RedisCommands<String, String> sync = connection.sync();
        String now = "1700000000000000";
        for (LuaPolicy lua : List.of(LuaPolicy.of(one), LuaPolicy.general(one), LuaPolicy.of(two))) {
            ScriptRunner runner = new ScriptRunner(commands, lua, TIMEOUT_NANOS);
            String prefix = TestRedis.prefix();
            String fresh = prefix + "{fresh}:" + lua.stateName();
            String list = prefix + "{list}:" + lua.stateName();
            String hash = prefix + "{hash}:" + lua.stateName();
            sync.rpush(list, "not", "ours");
            sync.hset(hash, "not", "ours");
            for (LuaPolicy.Request request : List.of(new LuaPolicy.Request(now, "p", 1, 0),
                    new LuaPolicy.Request(now, "a", 2, 0))) {
                String what = algorithm + ", " + lua.policy() + (lua.flat() ? " flat" : " general") + ", " + request;
                String[] args = lua.args(new LuaPolicy.Request[] {request}, 0, 1);
                long[] expected = runner.run(new String[] {fresh}, args);
                for (String foreign : List.of(list, hash)) {
                    assertThat(runner.run(new String[] {foreign}, args)).as(what + " over a " + sync.type(foreign))
                            .isEqualTo(expected);
                }
                if (request.op().equals("p")) {
                    assertThat(sync.lrange(list, 0, -1)).as(what + ": the list, peeked at").containsExactly("not", "ours");
                    assertThat(sync.hgetall(hash)).as(what + ": the hash, peeked at").isEqualTo(Map.of("not", "ours"));
                }
            }
            assertThat(state(sync, list)).as("the list, admitted into").isEqualTo(state(sync, fresh)).isNotNull();
            assertThat(sync.type(hash)).as("the hash, admitted into").isEqualTo(sync.type(fresh));
        }
    }

    /**
     * The sliding counter's key lives until its counts have rolled out of the window's grid, also
     * when the time has stepped back behind the window's start (Redis's TIME after a failover to a
     * node whose clock is behind): an admission 30 minutes back in a window of an hour, whose
     * counts roll out 2 h 30 min later, must not leave a key that expires after 2 h and then reads
     * as fresh, with the whole capacity again.
     */
    @Test
    void aSlidingCounterKeyOutlivesItsCountsAfterAStepBack() {
        LuaPolicy general = LuaPolicy.general(new Policy(Algorithm.SLIDING_WINDOW_COUNTER,
                List.of(Limit.of(10, Duration.ofHours(1)))));
        String[] key = {TestRedis.prefix() + "{c}:" + general.stateName()};
        ScriptRunner runner = new ScriptRunner(commands, general, TIMEOUT_NANOS);
        long start = 1_700_000_000_000_000L;
        long back = start - Duration.ofMinutes(30).toNanos() / 1000;
        for (long now : new long[] {start, back}) {
            long[] reply = runner.run(key, general.args(new LuaPolicy.Request[] {
                    new LuaPolicy.Request(Long.toString(now), "a", 1, 0)}, 0, 1));
            assertThat(reply[0]).as("admitted at %d", now).isEqualTo(1);
        }
        assertThat(connection.sync().pttl(key[0])).as("PTTL after the step back")
                .isGreaterThan(Duration.ofMinutes(149).toMillis());
    }

    /** A key's value as text: a string, or a list's elements (the sliding log's), or null when absent. */
    private static String state(RedisCommands<String, String> sync, String key) {
        return switch (sync.type(key)) {
            case "none" -> null;
            case "list" -> "list " + sync.lrange(key, 0, -1);
            default -> sync.get(key);
        };
    }

    /**
     * A hot client's requests sent together read its state once and store it once per run of its
     * key, counted by a redis-server of the test's own, whose {@code INFO commandstats} counts the
     * commands a script calls. The replies are each request's own all the same.
     */
    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = {"TOKEN_BUCKET", "LEAKY_BUCKET", "FIXED_WINDOW"})
    void aRunOfOneKeyReadsAndStoresItsStateOnce(Algorithm algorithm) {
        try (RedisProcess redis = new RedisProcess()) {
            RedisClient own = RedisClient.create(redis.uri());
            try (StatefulRedisConnection<String, String> ownConnection = own.connect()) {
                RedisConnection ownCommands = RedisConnection.given(
                        new RedisConnection.Commands(ownConnection), false);
                LuaPolicy flat = LuaPolicy.of(new Policy(algorithm, List.of(Limit.of(100, Duration.ofHours(1)))));
                ScriptRunner runner = new ScriptRunner(ownCommands, flat, TIMEOUT_NANOS);
                // The leaky bucket lets one request go per instant, and these share one: they reserve.
                LuaPolicy.Request take = algorithm == Algorithm.LEAKY_BUCKET
                        ? new LuaPolicy.Request("", "r", 1, Duration.ofHours(1).toNanos() / 1000)
                        : new LuaPolicy.Request("", "a", 1, 0);
                LuaPolicy.Request[] requests = new LuaPolicy.Request[6];
                Arrays.fill(requests, take);
                runner.run(new String[] {"warm-up"}, flat.args(requests, 0, 1)); // loads the script
                ownConnection.sync().configResetstat();

                String[] keys = {"a", "a", "a", "b", "b", "a"};
                long[] replies = runner.run(keys, flat.args(requests, 0, keys.length));

                long[] remaining = new long[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    assertThat(replies[7 * i]).as("request %d admitted", i).isEqualTo(1L);
                    remaining[i] = replies[7 * i + 1];
                }
                assertThat(remaining).containsExactly(99, 98, 97, 99, 98, 96);
                String stats = ownConnection.sync().info("commandstats");
                assertThat(TestRedis.calls(stats, "get")).as(stats).isEqualTo(3);
                assertThat(TestRedis.calls(stats, "set")).as(stats).isEqualTo(3);
                assertThat(ownConnection.sync().pttl("a")).isPositive();
            } finally {
                own.shutdown();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Algorithm.class, names = {"TOKEN_BUCKET", "LEAKY_BUCKET", "FIXED_WINDOW"})
    void flatScriptUsesRedisTimeWithoutATestTicker(Algorithm algorithm) {
        // Two an hour: the first admission leaves the bucket full again (or the window over) in
        // exactly 30 (or 60) minutes from the script's own TIME, which must lie between ours.
        LuaPolicy flat = LuaPolicy.of(new Policy(algorithm, List.of(Limit.of(2, Duration.ofHours(1)))));
        String[] key = {TestRedis.prefix() + "{t}:" + flat.stateName()};
        long full = algorithm == Algorithm.FIXED_WINDOW ? 3_600_000_000L : 1_800_000_000L;
        long before = redisMicros();
        long[] reply = new ScriptRunner(commands, flat, TIMEOUT_NANOS).run(key, flat.args(new LuaPolicy.Request[] {new LuaPolicy.Request("", "a", 1, 0)}, 0, 1));
        long after = redisMicros();
        assertThat(reply).containsExactly(1L, 1L, 2L, 0L, full, 0L, 0L);
        String[] state = connection.sync().get(key[0]).split("\\|");
        assertThat(state[0]).isEqualTo("1");
        assertThat(Long.parseLong(state[1])).isBetween(before + full, after + full);
        assertThat(connection.sync().pttl(key[0])).isBetween(full / 1000 - 60_000, full / 1000);
    }

    @Test
    void onlySingleLimitsOfTheBucketsAndTheFixedWindowTakeAFlatScript() {
        List<Limit> one = List.of(Limit.of(5, Duration.ofSeconds(1)));
        List<Limit> two = List.of(Limit.of(5, Duration.ofSeconds(1)), Limit.of(50, Duration.ofMinutes(1)));
        for (Algorithm algorithm : Algorithm.values()) {
            boolean flat = algorithm == Algorithm.TOKEN_BUCKET || algorithm == Algorithm.LEAKY_BUCKET
                    || algorithm == Algorithm.FIXED_WINDOW;
            Policy single = new Policy(algorithm, one);
            // No function in the code of a flat script: none is created per call.
            assertThat(code(LuaPolicy.of(single).script()).contains("function")).as("%s", algorithm).isEqualTo(!flat);
            assertThat(LuaPolicy.of(single).sha().equals(LuaPolicy.general(single).sha())).as("%s", algorithm)
                    .isEqualTo(!flat);
            assertThat(LuaPolicy.of(single).stateName()).isEqualTo(LuaPolicy.general(single).stateName());
            Policy several = new Policy(algorithm, two);
            assertThat(LuaPolicy.of(several).sha()).as("%s, two limits", algorithm)
                    .isEqualTo(LuaPolicy.general(several).sha());
        }
    }

    /** The script without its comment lines. */
    private static String code(String script) {
        return script.lines().filter(line -> !line.strip().startsWith("--")).reduce("", (a, b) -> a + b + "\n");
    }

    private long redisMicros() {
        List<String> time = connection.sync().time();
        return Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
    }

    /**
     * Rates that do and do not divide their periods, capacities above and below the rate, and
     * periods from a millisecond to days, so that expiry times both fall under and pass the ten
     * minutes a test ticker's keys are kept at least.
     */
    private static Limit randomLimit(Random random) {
        long permits = 1 + random.nextInt(random.nextBoolean() ? 12 : 5000);
        long periodMicros = switch (random.nextInt(3)) {
            case 0 -> 1000 + random.nextInt(1_000_000);
            case 1 -> 1_000_000L * (1 + random.nextInt(3600));
            default -> 1000L * (1 + random.nextInt(3 * 86_400_000));
        };
        long capacity = random.nextBoolean() ? permits : 1 + random.nextInt(15);
        return new Limit(permits, Duration.ofNanos(1000 * periodMicros), capacity);
    }

    /** Mostly takes of one permit, some of several, some peeks, and for the leaky bucket some reservations. */
    private static LuaPolicy.Request randomRequest(Random random, Policy policy, long nowMicros) {
        String op = switch (random.nextInt(8)) {
            case 0 -> "p";
            case 1 -> policy.algorithm() == Algorithm.LEAKY_BUCKET ? "r" : "a";
            default -> "a";
        };
        Limit limit = policy.limits().get(0);
        // At most the smallest capacity, as RedisRateLimiter refuses more before any script runs.
        long smallest = policy.limits().stream().mapToLong(Limit::capacity).min().orElseThrow();
        long permits = op.equals("p") || random.nextInt(3) > 0 ? 1 : 1 + random.nextInt((int) smallest);
        long maxWait = op.equals("r") ? (long) (random.nextDouble() * limit.periodNanos() / 1000 * 2) : 0;
        return new LuaPolicy.Request(Long.toString(nowMicros), op, permits, maxWait);
    }

    /** Mostly small steps, sometimes none or a single microsecond, sometimes past a period. */
    private static long advance(Random random, long longestMicros) {
        return switch (random.nextInt(8)) {
            case 0 -> 0;
            case 1 -> 1 + random.nextInt(3);
            case 2 -> 1 + (long) (random.nextDouble() * 3 * longestMicros);
            default -> 1 + (long) (random.nextDouble() * longestMicros / 8 / Math.max(1, random.nextInt(100)));
        };
    }
}
