package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Replies that arrive late or never, placed by a {@link ReplyProxy} between Redis and the limiter. */
class LostAndLateRepliesTest {

    private ReplyProxy proxy;
    private RedisClient viaProxy;

    @BeforeEach
    void start() {
        proxy = new ReplyProxy();
        viaProxy = proxy.client();
    }

    @AfterEach
    void stop() throws Exception {
        viaProxy.shutdown();
        proxy.close();
    }

    /**
     * The connection drops after Redis ran the script but before its reply arrived. Lettuce
     * re-sends what had no reply once it reconnects, which ran the script twice: one decision,
     * two permits, and no failure seen.
     */
    @Test
    void aDecisionWhoseReplyIsLostTakesItsPermitsOnce() {
        String prefix = TestRedis.prefix();
        Limit limit = Limit.of(10, Duration.ofHours(1));
        RedisClient direct = TestRedis.client();
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(viaProxy).limit(limit).keyPrefix(prefix)
                .commandTimeout(Duration.ofSeconds(5)).build();
             RedisRateLimiter observer = RedisRateLimiter.builder().client(direct).limit(limit).keyPrefix(prefix)
                     .commandTimeout(Duration.ofSeconds(5)).build()) {
            assertThat(limiter.tryAcquire("warm-up").allowed()).isTrue(); // loads the script
            proxy.dropNextReply();
            Decision lost = limiter.tryAcquire("k");
            assertThat(observer.peek("k").remaining()).as("one decision (%s), one permit", lost).isEqualTo(9);
            assertThat(limiter.failedCalls()).as("the lost reply is a failure").isEqualTo(1);
        } finally {
            direct.shutdown();
        }
    }

    /**
     * The connection drops after Redis ran reset's DEL but before its reply arrived, and other
     * requests take permits on the key before the limiter reconnects. Lettuce re-sent the DEL once
     * reconnected, which wiped those permits too: 10 remaining where 5 were taken.
     */
    @Test
    void aResetWhoseReplyIsLostIsNotSentAgain() throws Exception {
        String prefix = TestRedis.prefix();
        Limit limit = Limit.of(10, Duration.ofHours(1));
        RedisClient direct = TestRedis.client();
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(viaProxy).limit(limit).keyPrefix(prefix)
                .failureMode(FailureMode.CLOSED).commandTimeout(Duration.ofSeconds(5)).build();
             RedisRateLimiter other = RedisRateLimiter.builder().client(direct).limit(limit).keyPrefix(prefix)
                     .commandTimeout(Duration.ofSeconds(5)).build()) {
            assertThat(limiter.tryAcquire("k", 3).remaining()).isEqualTo(7);
            proxy.holdReconnect();
            proxy.dropNextReply();
            CompletableFuture<Void> reset = CompletableFuture.runAsync(() -> limiter.reset("k"));
            proxy.awaitDropped(); // the DEL has run in Redis; its reply is lost with the connection
            assertThat(other.tryAcquire("k", 5).remaining()).as("taken after the DEL ran").isEqualTo(5);
            proxy.releaseReconnect();
            Throwable failure = reset.handle((done, error) -> error).get(10, TimeUnit.SECONDS);
            assertThat(other.peek("k").remaining()).as("the permits taken since the DEL ran (reset: %s)", failure)
                    .isEqualTo(5);
            assertThat(failure).as("the reset, which may have run").isNotNull()
                    .cause().isInstanceOf(RedisUnavailableException.class);
            assertThat(limiter.failedCalls()).as("the lost reply is a failure").isEqualTo(1);
        } finally {
            direct.shutdown();
        }
    }

    /**
     * The interleaving: a denial is decided in Redis, reset deletes the key, and only then does the
     * denial's reply arrive. Caching it would deny from this node for an hour a key Redis has no
     * state for.
     */
    @Test
    void aDenialDecidedBeforeAResetIsNotCachedAfterIt() throws Exception {
        try (RedisRateLimiter limiter = RedisRateLimiter.builder().client(viaProxy).algorithm(Algorithm.FIXED_WINDOW)
                .limit(Limit.of(1, Duration.ofHours(1))).keyPrefix(TestRedis.prefix())
                .commandTimeout(Duration.ofSeconds(5)).build()) {
            assertThat(limiter.tryAcquire("k").allowed()).isTrue();
            proxy.holdNextReply();
            CompletableFuture<Decision> inFlight = CompletableFuture.supplyAsync(() -> limiter.tryAcquire("k"));
            proxy.awaitHeld(); // Redis has denied; the reply waits until reset's DEL has been sent
            limiter.reset("k");
            assertThat(inFlight.get(5, TimeUnit.SECONDS).allowed()).as("decided before the reset").isFalse();
            Decision after = limiter.tryAcquire("k");
            assertThat(after.allowed()).as("after the reset: %s (saved calls %d)", after, limiter.savedCalls()).isTrue();
        }
    }
}
