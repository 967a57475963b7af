package dev.ratelimit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.redis.RedisSentinel;
import dev.ratelimit.redis.TestRedis;
import dev.ratelimit.spring.RateLimitEnforcer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * {@code ratelimit.store=redis} set up only through Spring Boot's {@code spring.data.redis.sentinel.*}:
 * the store reaches the master the Sentinel names ({@link RedisSentinel}, servers of the test's own).
 */
class RateLimitRedisSentinelTests {

    private static boolean take(ConfigurableApplicationContext context, String key) {
        return context.getBean(RateLimitEnforcer.class)
                .enforce(List.of(new RateLimitEnforcer.Check("api", "free", key, 1))).allowed();
    }

    @Test
    void twoApplicationsBehindOneSentinelShareOneLimitExactly() {
        try (RedisSentinel sentinel = new RedisSentinel()) {
            ApplicationContextRunner node = new ApplicationContextRunner()
                    .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                            RateLimitAutoConfiguration.class, RateLimitRedisAutoConfiguration.class))
                    .withPropertyValues("ratelimit.tiers.free.limits[0].limit=5",
                            "ratelimit.tiers.free.limits[0].period=1h", "ratelimit.rules[0].name=api",
                            "ratelimit.store=redis", "ratelimit.redis.failure-mode=closed",
                            "ratelimit.redis.key-prefix=" + TestRedis.prefix(),
                            "ratelimit.redis.command-timeout=2s",
                            "spring.data.redis.sentinel.master=" + RedisSentinel.MASTER,
                            "spring.data.redis.sentinel.nodes=127.0.0.1:" + sentinel.sentinelPort());
            node.run(first -> node.run(second -> {
                assertThat(first).hasNotFailed();
                assertThat(first.getBean(LettuceConnectionFactory.class).getSentinelConfiguration())
                        .as("Spring Data Redis saw the Sentinel settings").isNotNull();
                List<Boolean> decisions = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    decisions.add(take(first, "client"));
                    decisions.add(take(second, "client"));
                }
                assertThat(decisions).as("5 an hour across both applications")
                        .containsExactly(true, true, true, true, true, false, false, false);
            }));
            assertThat(sentinel.masterPort()).isEqualTo(sentinel.master().port());
        }
    }
}
