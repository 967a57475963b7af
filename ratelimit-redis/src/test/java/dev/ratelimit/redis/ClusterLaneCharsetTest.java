package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.ChildJvm;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import java.nio.charset.Charset;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * On a cluster, the coalescer's lanes must follow the slot a key's bytes hash to, which Lettuce
 * routes by and Redis checks: the key's UTF-8 bytes. A JVM whose default charset is not UTF-8
 * (Java 17 under LANG=C, as in many containers: US-ASCII) must not put two clients whose slots
 * differ into one lane, or their requests share a call that Redis refuses with CROSSSLOT, and the
 * failure mode (OPEN: admit) decides past the limit. The scenario runs in a JVM of its own, started
 * with {@code -Dfile.encoding=US-ASCII}, since the default charset is fixed at start-up.
 */
class ClusterLaneCharsetTest {

    /** "é" and "ü": both "?" in US-ASCII, so one slot there, in two different slots as UTF-8. */
    static final String A = "\u00e9";
    static final String B = "\u00fc";

    @Test
    void clientsOfDifferentSlotsNeverShareACallWhateverTheDefaultCharset() throws Exception {
        try (RedisCluster cluster = new RedisCluster()) {
            String[] ports = cluster.uris().stream().map(uri -> Integer.toString(uri.getPort())).toArray(String[]::new);
            ChildJvm.Result probe = ChildJvm.run(Duration.ofSeconds(60), List.of("-Dfile.encoding=US-ASCII"),
                    Probe.class, ports);
            assertThat(probe.ended()).as("the probe ended within 60 s:%n%s", probe.output()).isTrue();
            assertThat(probe.exitCode()).as("the probe's verdict:%n%s", probe.output()).isZero();
        }
    }

    /** Runs in a JVM whose default charset is US-ASCII; exits 0 if the limit held and no call failed. */
    static final class Probe {
        public static void main(String[] ports) throws Exception {
            System.out.println("default charset " + Charset.defaultCharset());
            List<RedisURI> uris = new ArrayList<>();
            for (String port : ports) {
                uris.add(RedisURI.create("127.0.0.1", Integer.parseInt(port)));
            }
            RedisClusterClient client = RedisClusterClient.create(uris);
            RedisClient admin = RedisClient.create();
            ExecutorService threads = Executors.newFixedThreadPool(Coalescer.MAX_IN_FLIGHT + 2);
            int exit = 1;
            try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(client)
                    .limit(Limit.of(1, Duration.ofHours(1))).keyPrefix(TestRedis.prefix()).localDenyCache(false)
                    .commandTimeout(Duration.ofSeconds(10)).build()) {
                limiter.peek(A); // loads the script on A's node, and B's below, so no NOSCRIPT retry follows
                limiter.peek(B);
                for (RedisURI uri : uris) {
                    try (StatefulRedisConnection<String, String> node = admin.connect(uri)) {
                        node.sync().clientPause(2_000);
                    }
                }
                // A's lane fills with calls Redis holds; one more request of A, then one of B, arrive behind them.
                List<Future<Boolean>> forA = new ArrayList<>();
                for (int i = 0; i < Coalescer.MAX_IN_FLIGHT; i++) {
                    forA.add(threads.submit(() -> limiter.tryAcquire(A).allowed()));
                }
                Thread.sleep(300); // sequencing the submissions only: the pause holds every call meanwhile
                forA.add(threads.submit(() -> limiter.tryAcquire(A).allowed()));
                Thread.sleep(100);
                Future<Boolean> forB = threads.submit(() -> limiter.tryAcquire(B).allowed());
                long admittedA = 0;
                for (Future<Boolean> allowed : forA) {
                    admittedA += allowed.get(30, TimeUnit.SECONDS) ? 1 : 0;
                }
                boolean admittedB = forB.get(30, TimeUnit.SECONDS);
                System.out.println("admitted for A: " + admittedA + " of " + forA.size() + " (capacity 1), for B: "
                        + admittedB + ", failed calls: " + limiter.failedCalls() + ", last failure: "
                        + limiter.lastFailure());
                exit = admittedA == 1 && admittedB && limiter.failedCalls() == 0 ? 0 : 1;
            } finally {
                threads.shutdownNow();
                admin.shutdown();
                client.shutdown();
            }
            System.exit(exit);
        }
    }
}
