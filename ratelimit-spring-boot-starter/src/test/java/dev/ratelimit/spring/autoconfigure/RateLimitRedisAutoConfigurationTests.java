package dev.ratelimit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.redis.RedisCluster;
import dev.ratelimit.redis.RedisProcess;
import dev.ratelimit.redis.RedisRateLimiter;
import dev.ratelimit.redis.RedisUnavailableException;
import dev.ratelimit.redis.TestRedis;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitResult;
import dev.ratelimit.spring.RateLimited;
import dev.ratelimit.spring.RateLimiterFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.RedisStaticMasterReplicaConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * {@code ratelimit.store=redis} outside the web: the store is chosen and shared between
 * applications, start-up with Redis missing or down, bad properties, and the health indicator.
 * Real Redis ({@link TestRedis}); every test uses its own key prefix. Limits are per hour, so no
 * permit refills while a test runs and every count is exact.
 */
@ExtendWith(OutputCaptureExtension.class)
class RateLimitRedisAutoConfigurationTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, RateLimitAutoConfiguration.class,
                    RateLimitRedisAutoConfiguration.class))
            .withPropertyValues("ratelimit.tiers.free.limits[0].limit=5", "ratelimit.tiers.free.limits[0].period=1h",
                    "ratelimit.rules[0].name=api", "ratelimit.rules[1].name=login");
    // Two rules on the one tier: the enforcer creates their two limiters at start-up.

    private ApplicationContextRunner redis(String url, String... properties) {
        return runner.withPropertyValues("ratelimit.store=redis", "spring.data.redis.url=" + url,
                "ratelimit.redis.key-prefix=" + TestRedis.prefix(), "ratelimit.redis.command-timeout=500ms")
                .withPropertyValues(properties);
    }

    private static String sharedRedis() {
        return "redis://" + TestRedis.uri().getHost() + ":" + TestRedis.uri().getPort();
    }

    private static boolean take(ConfigurableApplicationContext context, String rule, String key) {
        RateLimitResult result = context.getBean(RateLimitEnforcer.class)
                .enforce(List.of(new RateLimitEnforcer.Check(rule, "free", key, 1)));
        return result.allowed();
    }

    @Test
    void aLimitRedisCannotKeepExactStopsStartUp() {
        redis(sharedRedis(), "ratelimit.tiers.odd.limits[0].limit=1000003", "ratelimit.tiers.odd.limits[0].period=365d")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("ratelimit.rules").hasMessageContaining("with tier odd")
                        .hasMessageContaining("cannot be kept exact in Redis"));
    }

    @Test
    void aRateLimitedLimitRedisCannotKeepExactStopsStartUpNamingTheMethod() {
        redis(sharedRedis()).withBean(OddLimitService.class).run(context -> {
            assertThat(context).hasFailed();
            Throwable failure = context.getStartupFailure();
            while (failure.getCause() != null) {
                failure = failure.getCause();
            }
            assertThat(failure).hasMessageStartingWith("@RateLimited(limit = \"1000003/365d\") on OddLimitService.call cannot be"
                            + " enforced by the configured store: limit ")
                    .hasMessageContaining("cannot be kept exact in Redis").hasMessageNotContaining("ratelimit.rules");
        });
    }

    static class OddLimitService {
        @RateLimited(limit = 1000003, period = "365d")
        public void call() {
        }
    }

    @Test
    void memoryIsTheDefaultEvenWithRedisOnTheClassPath() {
        runner.run(context -> {
            assertThat(context).hasNotFailed().doesNotHaveBean(RedisStore.class);
            assertThat(context.getBean(RateLimiterFactory.class).create("x", policy()))
                    .isNotInstanceOf(RedisRateLimiter.class);
        });
    }

    @Test
    void twoApplicationsOnARedisClusterShareOneLimitExactly() {
        // Only Spring Boot's own cluster setting: the store takes the cluster client Spring Data Redis built.
        try (RedisCluster cluster = new RedisCluster()) {
            String nodes = cluster.uris().stream().map(uri -> uri.getHost() + ":" + uri.getPort())
                    .collect(java.util.stream.Collectors.joining(","));
            ApplicationContextRunner node = runner.withPropertyValues("ratelimit.store=redis",
                    "spring.data.redis.cluster.nodes=" + nodes, "ratelimit.redis.key-prefix=" + TestRedis.prefix(),
                    "ratelimit.redis.command-timeout=2s");
            node.run(first -> node.run(second -> {
                assertThat(first.getBean(org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory.class)
                        .getRequiredNativeClient()).isInstanceOf(io.lettuce.core.cluster.RedisClusterClient.class);
                for (String client : List.of("alice", "bob", "carol")) { // hash tags on different slots
                    List<Boolean> decisions = new ArrayList<>();
                    for (int i = 0; i < 4; i++) {
                        decisions.add(take(first, "api", client));
                        decisions.add(take(second, "api", client));
                    }
                    assertThat(decisions).as("5 an hour for %s across both nodes", client)
                            .containsExactly(true, true, true, true, true, false, false, false);
                }
            }));
        }
    }

    @Test
    void twoApplicationsOnOneRedisShareOneLimitExactly() {
        String prefix = TestRedis.prefix();
        ApplicationContextRunner node = redis(sharedRedis(), "ratelimit.redis.key-prefix=" + prefix);
        node.run(first -> node.run(second -> {
            assertThat(first).hasSingleBean(RedisStore.class);
            int before = first.getBean(RedisStore.class).limiters().size();
            first.getBean(RateLimiterFactory.class).create("probe", policy());
            assertThat(first.getBean(RedisStore.class).limiters()).as("made by the Redis store").hasSize(before + 1);
            List<Boolean> decisions = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                decisions.add(take(first, "api", "client"));
                decisions.add(take(second, "api", "client"));
            }
            assertThat(decisions).as("5 an hour across both nodes, in turns")
                    .containsExactly(true, true, true, true, true, false, false, false);
            assertThat(take(first, "login", "client")).as("another rule keeps its own state").isTrue();
            assertThat(take(first, "api", "other")).as("another client too").isTrue();
        }));
    }

    @Test
    void aContextStoppedAndStartedAgainKeepsEnforcingThroughRedis() {
        // Stopping the context (as a CRaC checkpoint does) shuts Spring Data Redis's client down, and
        // starting it builds a new one: the store must move to it, or in open mode admit everything.
        redis(sharedRedis()).run(context -> {
            assertThat(take(context, "api", "client")).isTrue();
            assertThat(take(context, "api", "client")).isTrue();
            context.stop();
            context.start();
            List<Boolean> decisions = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                decisions.add(take(context, "api", "client"));
            }
            assertThat(decisions).as("5 an hour, 2 taken before the restart").containsExactly(true, true, true, false);
            assertThat(context.getBean("rateLimitRedisHealthIndicator", HealthIndicator.class).health().getStatus())
                    .isEqualTo(Status.UP);
        });
    }

    @Test
    void withoutRatelimitRedisTheApplicationStopsNamingTheDependency() {
        redis(sharedRedis()).withClassLoader(new FilteredClassLoader(RedisRateLimiter.class)).run(context -> {
            FailureAnalysis analysis = analyze(context);
            assertThat(analysis.getDescription())
                    .isEqualTo("ratelimit.store=redis, but dev.ratelimit:ratelimit-redis is not on the class path");
            assertThat(analysis.getAction()).contains("Add dev.ratelimit:ratelimit-redis");
        });
    }

    @Test
    void withoutSpringDataRedisTheApplicationStopsNamingTheStarter() {
        redis(sharedRedis()).withClassLoader(new FilteredClassLoader(LettuceConnectionFactory.class)).run(context ->
                assertThat(analyze(context).getDescription()).isEqualTo("ratelimit.store=redis, but"
                        + " org.springframework.boot:spring-boot-starter-data-redis is not on the class path"));
    }

    @Test
    void closedModeRefusesToStartWhileRedisIsUnreachable() {
        redis("redis://127.0.0.1:" + RedisProcess.freePort(), "ratelimit.redis.failure-mode=closed").run(context -> {
            FailureAnalysis analysis = analyze(context);
            assertThat(analysis.getDescription()).startsWith("Redis did not answer at start-up, and"
                    + " ratelimit.redis.failure-mode is closed").contains("cannot connect to Redis");
            assertThat(analysis.getAction()).contains("ratelimit.redis.failure-mode to open or local");
        });
    }

    @Test
    void openModeStartsWithAWarningAndAdmitsWhileRedisIsUnreachable(CapturedOutput output) {
        redis("redis://127.0.0.1:" + RedisProcess.freePort(), "ratelimit.redis.failure-mode=open").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(output).contains("Redis did not answer at start-up; rate limits are decided by"
                    + " ratelimit.redis.failure-mode=open until it does");
            for (int i = 0; i < 7; i++) {
                assertThat(take(context, "api", "client")).as("open admits beyond the limit").isTrue();
            }
            Health health = context.getBean("rateLimitRedisHealthIndicator", HealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.getDetails()).containsEntry("failureMode", "open").containsEntry("limiters", 2)
                    .containsEntry("fallbackDecisions", 7L);
            assertThat((String) health.getDetails().get("lastFailure")).contains("cannot connect to Redis");
        });
    }

    @Test
    void localModeStartsAndLimitsEachNodeOnItsOwn() {
        redis("redis://127.0.0.1:" + RedisProcess.freePort(), "ratelimit.redis.failure-mode=local").run(context -> {
            List<Boolean> decisions = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                decisions.add(take(context, "api", "client"));
            }
            assertThat(decisions).containsExactly(true, true, true, true, true, false);
        });
    }

    @Test
    void healthIsUpWhileRedisAnswersAndDownOnceACallFails() {
        try (RedisProcess server = new RedisProcess()) {
            redis(server.uri(), "ratelimit.redis.circuit-breaker-wait=1h").run(context -> {
                HealthIndicator indicator = context.getBean("rateLimitRedisHealthIndicator", HealthIndicator.class);
                assertThat(indicator.health().getStatus()).as("connected, no limiter yet").isEqualTo(Status.UP);
                assertThat(take(context, "api", "client")).isTrue();
                Health up = indicator.health();
                assertThat(up.getStatus()).isEqualTo(Status.UP);
                assertThat(up.getDetails()).containsAllEntriesOf(Map.of("failureMode", "open", "limiters", 2,
                        "failedCalls", 0L, "fallbackDecisions", 0L, "lastFailure", ""));

                server.kill();
                assertThat(take(context, "api", "client")).as("open: admitted without Redis").isTrue();
                Health down = indicator.health();
                assertThat(down.getStatus()).isEqualTo(Status.DOWN);
                assertThat(down.getDetails()).containsEntry("failedCalls", 1L).containsEntry("fallbackDecisions", 1L);
                assertThat((String) down.getDetails().get("lastFailure")).isNotEmpty();
            });
        }
    }

    /**
     * Each limiter has its own circuit breaker, and only a call closes it. After an outage the
     * indicator stayed DOWN, with Redis answering, until every limiter that had failed decided again:
     * for a rule or tier that sees no traffic, for good; and for every limiter once a probe that
     * includes this indicator takes the node out of service, since no request then arrives to close
     * a breaker. Here no request follows the outage at all.
     */
    @Test
    void healthTurnsUpOnceRedisAnswersAgainThoughNoRequestFollowsTheOutage() {
        int port = RedisProcess.freePort();
        try (RedisProcess server = new RedisProcess(port)) {
            redis(server.uri(), "ratelimit.redis.circuit-breaker-wait=1ms").run(context -> {
                HealthIndicator indicator = context.getBean("rateLimitRedisHealthIndicator", HealthIndicator.class);
                assertThat(take(context, "api", "client")).isTrue();
                assertThat(take(context, "login", "client")).isTrue();
                server.kill();
                assertThat(take(context, "api", "client")).as("open: admitted without Redis").isTrue();
                assertThat(take(context, "login", "client")).as("open: admitted without Redis").isTrue();
                assertThat(indicator.health().getStatus()).isEqualTo(Status.DOWN);
                assertThat(indicator.health().getStatus()).as("still down: a failed probe keeps it so").isEqualTo(Status.DOWN);

                try (RedisProcess again = new RedisProcess(port)) {
                    // The breakers let a call through once their wait (1 ms) has passed; allow a few checks.
                    List<Status> seen = new ArrayList<>();
                    for (int i = 0; i < 50 && !Status.UP.equals(lastOf(seen)); i++) {
                        seen.add(indicator.health().getStatus());
                    }
                    assertThat(seen).as("health while Redis answers again on port %d", port).endsWith(Status.UP);
                    Health up = indicator.health();
                    assertThat(up.getStatus()).isEqualTo(Status.UP);
                    assertThat(up.getDetails()).as("a health check decides nothing").containsEntry("fallbackDecisions", 2L);
                    assertThat(take(context, "api", "client")).isTrue();
                }
            });
        }
    }

    @Test
    void healthTurnsUpOnceARedisThatWasDownAtStartUpAnswersThoughNoLimiterExists() {
        int port = RedisProcess.freePort();
        // No rules: no limiter exists to connect on a request's behalf, so only the health check can.
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class,
                        RateLimitAutoConfiguration.class, RateLimitRedisAutoConfiguration.class))
                .withPropertyValues("ratelimit.tiers.free.limits[0].limit=5", "ratelimit.tiers.free.limits[0].period=1h",
                        "ratelimit.store=redis", "spring.data.redis.url=redis://127.0.0.1:" + port,
                        "ratelimit.redis.key-prefix=" + TestRedis.prefix(), "ratelimit.redis.command-timeout=500ms",
                        "ratelimit.redis.failure-mode=open")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    HealthIndicator indicator = context.getBean("rateLimitRedisHealthIndicator", HealthIndicator.class);
                    assertThat(indicator.health().getStatus()).isEqualTo(Status.DOWN);
                    try (RedisProcess server = new RedisProcess(port)) {
                        // Each check waits for the connection at most the command timeout; allow a few.
                        List<Status> seen = new ArrayList<>();
                        for (int i = 0; i < 20 && !Status.UP.equals(lastOf(seen)); i++) {
                            seen.add(indicator.health().getStatus());
                        }
                        assertThat(seen).as("health while Redis answers on port %d", server.port()).endsWith(Status.UP);
                    }
                });
    }

    private static Status lastOf(List<Status> statuses) {
        return statuses.isEmpty() ? null : statuses.get(statuses.size() - 1);
    }

    @Test
    void closedModeOutsideTheWebHandsTheCallerRedisUnavailableException() {
        try (RedisProcess server = new RedisProcess()) {
            redis(server.uri(), "ratelimit.redis.failure-mode=closed").run(context -> {
                assertThat(take(context, "api", "client")).isTrue();
                server.kill();
                assertThatThrownBy(() -> take(context, "api", "client")).isInstanceOf(RedisUnavailableException.class)
                        .hasMessageContaining("failure mode CLOSED");
            });
        }
    }

    @Test
    void anotherConnectionFactoryStopsTheApplicationAskingForLettuce() {
        // Jedis itself is not on the test class path; any factory that is not Lettuce's is refused alike.
        redis(sharedRedis()).withBean(RedisConnectionFactory.class, () -> mock(RedisConnectionFactory.class))
                .run(context -> {
                    FailureAnalysis analysis = analyze(context);
                    assertThat(analysis.getDescription()).startsWith("ratelimit.store=redis needs Spring Data"
                            + " Redis's Lettuce client, but the RedisConnectionFactory is a ");
                    assertThat(analysis.getAction()).contains("spring.data.redis.client-type=jedis");
                });
    }

    @Test
    void aStaticMasterReplicaSetupStopsTheApplicationNamingIt() {
        String node = TestRedis.uri().getHost() + ":" + TestRedis.uri().getPort();
        runner.withPropertyValues("ratelimit.store=redis", "spring.data.redis.masterreplica.nodes=" + node,
                        "ratelimit.redis.key-prefix=" + TestRedis.prefix(), "ratelimit.redis.command-timeout=500ms")
                .run(context -> {
                    FailureAnalysis analysis = analyze(context);
                    assertThat(analysis.getDescription()).startsWith("ratelimit.store=redis does not support a static"
                            + " master/replica set-up (spring.data.redis.masterreplica.nodes)");
                    assertThat(analysis.getAction()).contains("use Sentinel or Cluster");
                });
    }

    @Test
    void aStaticMasterReplicaFactoryOfTheApplicationsOwnStopsItInOpenModeToo() {
        // Not set through spring.data.redis, so Boot's connection details do not show it; the native
        // client then has no node, and open mode would admit everything for good.
        RedisStaticMasterReplicaConfiguration masterReplica = new RedisStaticMasterReplicaConfiguration(
                TestRedis.uri().getHost(), TestRedis.uri().getPort());
        redis(sharedRedis(), "ratelimit.redis.failure-mode=open")
                .withBean(LettuceConnectionFactory.class, () -> new LettuceConnectionFactory(masterReplica))
                .run(context -> {
                    FailureAnalysis analysis = analyze(context);
                    assertThat(analysis.getDescription()).startsWith("ratelimit.store=redis cannot connect through the"
                            + " LettuceConnectionFactory's native client, which has no Redis to connect to");
                    assertThat(analysis.getAction()).contains("static master/replica").contains("Sentinel or Cluster");
                });
    }

    @Test
    void healthIndicatorCanBeSwitchedOff() {
        redis(sharedRedis(), "management.health.ratelimit-redis.enabled=false")
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean("rateLimitRedisHealthIndicator"));
    }

    @Test
    void badRedisPropertiesStopTheApplicationNamingThePropertyAndValue() {
        redis(sharedRedis(), "ratelimit.redis.command-timeout=0s").run(context -> assertThat(context).getFailure()
                .rootCause().isInstanceOf(InvalidConfigurationPropertyValueException.class)
                .hasMessageContaining("ratelimit.redis.command-timeout").hasMessageContaining("must be positive"));
        redis(sharedRedis(), "ratelimit.redis.circuit-breaker-wait=366d").run(context -> assertThat(context).getFailure()
                .rootCause().isInstanceOf(InvalidConfigurationPropertyValueException.class)
                .hasMessageContaining("ratelimit.redis.circuit-breaker-wait").hasMessageContaining("at most 365d"));
        redis(sharedRedis(), "ratelimit.redis.key-prefix=app{1}:").run(context -> assertThat(context).getFailure()
                .rootCause().hasMessageContaining("ratelimit.redis.key-prefix").hasMessageContaining("app{1}:"));
    }

    private static FailureAnalysis analyze(AssertableApplicationContext context) {
        assertThat(context).hasFailed();
        FailureAnalysis analysis = new RedisStoreFailureAnalyzer().analyze(context.getStartupFailure());
        assertThat(analysis).as("analysed: %s", context.getStartupFailure()).isNotNull();
        return analysis;
    }

    private static Policy policy() {
        return new Policy(Algorithm.TOKEN_BUCKET, List.of(Limit.of(5, Duration.ofHours(1))));
    }
}
