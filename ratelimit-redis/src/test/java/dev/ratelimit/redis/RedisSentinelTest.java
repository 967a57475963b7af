package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The store behind Redis Sentinel ({@link RedisSentinel}: a master, a replica and a Sentinel of
 * the test's own): a limiter finds the master through the Sentinel, and after the master dies and
 * the Sentinel promotes the replica it decides on the replica's copy of the state. The limit is
 * per hour, so nothing refills while a test runs and every count is exact.
 */
class RedisSentinelTest {

    private RedisSentinel sentinel;
    private RedisClient client;

    @BeforeEach
    void start() {
        sentinel = new RedisSentinel();
        client = RedisClient.create(sentinel.uri());
    }

    @AfterEach
    void stop() {
        client.shutdown();
        sentinel.close();
    }

    private final String prefix = TestRedis.prefix();

    private RedisRateLimiter limiter(RedisClient through) {
        return RedisRateLimiter.builder().client(through).failureMode(FailureMode.CLOSED)
                .commandTimeout(Duration.ofSeconds(1)).circuitBreakerWait(Duration.ofMillis(50))
                .keyPrefix(prefix).limit(Limit.of(5, Duration.ofHours(1))).build();
    }

    @Test
    void twoLimitersFoundThroughTheSentinelShareOneLimitExactly() {
        RedisClient other = RedisClient.create(sentinel.uri());
        try (RedisRateLimiter first = limiter(client); RedisRateLimiter second = limiter(other)) {
            List<Boolean> decisions = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                decisions.add(first.tryAcquire("client").allowed());
                decisions.add(second.tryAcquire("client").allowed());
            }
            assertThat(decisions).containsExactly(true, true, true, true, true, false, false, false);
        } finally {
            other.shutdown();
        }
    }

    @Test
    void afterAFailoverTheLimiterDecidesOnThePromotedReplicasState() throws InterruptedException {
        try (RedisRateLimiter limiter = limiter(client)) {
            for (int i = 0; i < 3; i++) {
                assertThat(limiter.tryAcquire("client").allowed()).as("permit %d of 5", i + 1).isTrue();
            }
            // Replication is asynchronous: a failover can lose the writes a replica has not received,
            // which is Redis's guarantee, not the limiter's. Waiting for the copy tests the limiter alone.
            sentinel.awaitReplicated();
            sentinel.master().kill();

            // Bounded wait for the Sentinel to notice (1 s) and promote the replica; not a refill.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Boolean afterFailover = null;
            int unavailable = 0;
            while (afterFailover == null) {
                try {
                    afterFailover = limiter.tryAcquire("client").allowed();
                } catch (RedisUnavailableException e) {
                    unavailable++;
                    assertThat(System.nanoTime()).as("failover within 60 s; last error: %s", e.getMessage())
                            .isLessThan(deadline);
                    Thread.sleep(100);
                }
            }
            assertThat(unavailable).as("CLOSED mode refuses while there is no master").isPositive();
            assertThat(sentinel.masterPort()).isEqualTo(sentinel.replica().port());
            List<Boolean> decisions = new ArrayList<>(List.of(afterFailover));
            for (int i = 0; i < 3; i++) {
                decisions.add(limiter.tryAcquire("client").allowed());
            }
            assertThat(decisions).as("the 3 permits taken before the failover stay taken")
                    .containsExactly(true, true, false, false);
        }
    }
}
