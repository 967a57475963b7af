package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import io.lettuce.core.MigrateArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.event.AskRedirectionEvent;
import io.lettuce.core.cluster.event.MovedRedirectionEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

/**
 * A 3-master cluster of the test's own whose slots move under a limiter (Lettuce's topology is
 * not refreshed, so it keeps sending to the old owner): the old owner answers {@code MOVED}, or
 * {@code ASK} while the slot is migrating, and the new owner has never seen the script, so the
 * call also meets {@code NOSCRIPT} there. Each decision must still run once: no failed call, and
 * exactly one permit per admitted request.
 */
class ClusterRedirectionTest {

    private static final Limit LIMIT = Limit.of(10, Duration.ofHours(1));

    private static RedisCluster cluster;
    private static RedisClient admin;

    @BeforeAll
    static void start() {
        cluster = new RedisCluster();
        admin = RedisClient.create();
    }

    @AfterAll
    static void stop() {
        admin.shutdown();
        cluster.close();
    }

    @Test
    void aSlotMovedToANodeWithoutTheScriptIsFollowedAndEachDecisionTakesOnePermit() {
        String prefix = TestRedis.prefix();
        RedisClusterClient client = RedisClusterClient.create(cluster.uris());
        try (Redirections moved = new Redirections(client, MovedRedirectionEvent.class);
             RedisRateLimiter limiter = limiter(client, prefix)) {
            String client1 = "moved";
            assertThat(limiter.tryAcquire(client1, 3).remaining()).isEqualTo(7);
            Move move = new Move(key(prefix, client1));
            move.startMigrating();
            move.migrateKey();
            move.finish();

            Decision afterMove = limiter.tryAcquire(client1);
            assertThat(afterMove.allowed()).isTrue();
            assertThat(afterMove.remaining()).as("one permit, taken once on the new owner").isEqualTo(6);
            assertThat(moved.get()).as("EVALSHA, then EVAL after NOSCRIPT, each sent to the old owner first").isEqualTo(2);
            assertThat(move.target.sync().get(move.key)).as("the state lives on the new owner").isNotNull();
            assertThat(limiter.failedCalls()).as("MOVED and NOSCRIPT are followed, not failures (%s)",
                    limiter.lastFailure()).isZero();
            assertThat(limiter.fallbackDecisions()).isZero();
            assertThat(limiter.tryAcquire(client1, 6).remaining()).isZero();
            assertThat(limiter.tryAcquire(client1).allowed()).isFalse();
            move.close();
        } finally {
            client.shutdown();
        }
    }

    @Test
    void anAskDuringMigrationIsFollowedAndTakesOnePermit() {
        String prefix = TestRedis.prefix();
        RedisClusterClient client = RedisClusterClient.create(cluster.uris());
        try (Redirections asked = new Redirections(client, AskRedirectionEvent.class);
             RedisRateLimiter limiter = limiter(client, prefix)) {
            String client1 = "asked";
            assertThat(limiter.tryAcquire(client1, 2).remaining()).isEqualTo(8);
            Move move = new Move(key(prefix, client1));
            move.startMigrating();
            move.migrateKey(); // the old owner no longer has the key: it answers ASK

            Decision duringMigration = limiter.tryAcquire(client1);
            assertThat(duringMigration.remaining()).as("one permit, taken once on the importing node").isEqualTo(7);
            assertThat(asked.get()).as("EVALSHA, then EVAL after NOSCRIPT, each asked on").isEqualTo(2);
            assertThat(limiter.failedCalls()).as("ASK and NOSCRIPT are followed, not failures (%s)",
                    limiter.lastFailure()).isZero();
            move.finish();
            assertThat(limiter.tryAcquire(client1).remaining()).isEqualTo(6);
            assertThat(limiter.fallbackDecisions()).isZero();
            move.close();
        } finally {
            client.shutdown();
        }
    }

    /**
     * After a failover or {@code SCRIPT FLUSH} every node has lost the script: calls queued
     * behind others share a call, each call meets NOSCRIPT and is repeated once as EVAL, and
     * every request is decided exactly once.
     */
    @Test
    void flushedScriptsOnEveryNodeAreReloadedAndEveryRequestIsDecidedOnce() throws Exception {
        String prefix = TestRedis.prefix();
        RedisClusterClient client = RedisClusterClient.create(cluster.uris());
        ExecutorService threads = Executors.newFixedThreadPool(24);
        try (RedisRateLimiter limiter = limiter(client, prefix)) {
            assertThat(limiter.tryAcquire("warm-up").allowed()).isTrue();
            for (RedisURI uri : cluster.uris()) {
                try (StatefulRedisConnection<String, String> node = admin.connect(uri)) {
                    node.sync().scriptFlush();
                }
            }
            List<Future<Decision>> decisions = new ArrayList<>();
            for (int i = 0; i < 48; i++) {
                String key = "hot-" + i % 2; // 24 requests for each of two clients of capacity 10
                decisions.add(threads.submit(() -> limiter.tryAcquire(key)));
            }
            List<Long> remaining = new ArrayList<>();
            for (Future<Decision> decision : decisions) {
                Decision d = decision.get(30, TimeUnit.SECONDS);
                if (d.allowed()) {
                    remaining.add(d.remaining());
                }
            }
            assertThat(limiter.failedCalls()).as("NOSCRIPT is reloaded (%s)", limiter.lastFailure()).isZero();
            assertThat(remaining).as("each client's ten permits, each taken once").hasSize(20);
            assertThat(remaining.stream().sorted().toList())
                    .containsExactly(0L, 0L, 1L, 1L, 2L, 2L, 3L, 3L, 4L, 4L, 5L, 5L, 6L, 6L, 7L, 7L, 8L, 8L, 9L, 9L);
        } finally {
            threads.shutdownNow();
            client.shutdown();
        }
    }

    /** Counts the client's redirection events of {@code type}, which Lettuce publishes as it follows them. */
    private static final class Redirections implements AutoCloseable {
        final AtomicInteger count = new AtomicInteger();
        final Disposable subscription;

        Redirections(RedisClusterClient client, Class<?> type) {
            subscription = client.getResources().eventBus().get().filter(type::isInstance)
                    .subscribe(event -> count.incrementAndGet());
        }

        int get() {
            return count.get();
        }

        @Override
        public void close() {
            subscription.dispose();
        }
    }

    private static RedisRateLimiter limiter(RedisClusterClient client, String prefix) {
        return RedisRateLimiter.builder().client(client).limit(LIMIT).keyPrefix(prefix).localDenyCache(false)
                .failureMode(FailureMode.CLOSED).commandTimeout(Duration.ofSeconds(10)).build();
    }

    private static String key(String prefix, String client) {
        LuaPolicy lua = LuaPolicy.of(new Policy(Algorithm.TOKEN_BUCKET, List.of(LIMIT)));
        return new KeyLayout(prefix, lua.stateName()).key(client);
    }

    /** Moves one key's slot from its owner to the next node, as redis-cli --cluster reshard does. */
    private static final class Move implements AutoCloseable {
        final String key;
        final int slot;
        final StatefulRedisConnection<String, String> source;
        final StatefulRedisConnection<String, String> target;
        final List<StatefulRedisConnection<String, String>> all = new ArrayList<>();
        final int targetPort;

        Move(String key) {
            this.key = key;
            this.slot = SlotHash.getSlot(key.getBytes(StandardCharsets.UTF_8));
            List<RedisURI> uris = cluster.uris();
            int owner = -1;
            for (int i = 0; i < uris.size(); i++) {
                StatefulRedisConnection<String, String> node = admin.connect(uris.get(i));
                all.add(node);
                if (node.sync().clusterCountKeysInSlot(slot) > 0) {
                    owner = i;
                }
            }
            assertThat(owner).as("the node that holds %s", key).isNotNegative();
            source = all.get(owner);
            target = all.get((owner + 1) % all.size());
            targetPort = uris.get((owner + 1) % all.size()).getPort();
            target.sync().scriptFlush(); // whatever an earlier test left there: the new owner has no script
        }

        void startMigrating() {
            target.sync().clusterSetSlotImporting(slot, source.sync().clusterMyId());
            source.sync().clusterSetSlotMigrating(slot, target.sync().clusterMyId());
        }

        void migrateKey() {
            RedisCommands<String, String> from = source.sync();
            assertThat(from.migrate("127.0.0.1", targetPort, 0, 5_000, MigrateArgs.Builder.keys(key))).isEqualTo("OK");
        }

        void finish() {
            String owner = target.sync().clusterMyId();
            for (StatefulRedisConnection<String, String> node : all) {
                node.sync().clusterSetSlotNode(slot, owner);
            }
        }

        @Override
        public void close() {
            all.forEach(StatefulRedisConnection::close);
        }
    }
}
