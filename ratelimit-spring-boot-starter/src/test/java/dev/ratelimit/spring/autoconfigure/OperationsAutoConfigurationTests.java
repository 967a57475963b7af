package dev.ratelimit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Decision;
import dev.ratelimit.core.ForwardingRateLimiter;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimiterFactory;
import dev.ratelimit.spring.actuate.RateLimitsEndpoint;
import dev.ratelimit.spring.metrics.RateLimitMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.actuate.autoconfigure.endpoint.web.WebEndpointAutoConfiguration;
import org.springframework.boot.actuate.endpoint.OperationType;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.web.WebEndpointsSupplier;
import org.springframework.boot.actuate.endpoint.web.WebOperation;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableWebApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;

/** The meters and the endpoint: present when their libraries are, and never needed to start. */
class OperationsAutoConfigurationTests {

    private final WebApplicationContextRunner runner = new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(RateLimitAutoConfiguration.class,
                    RateLimitMetricsAutoConfiguration.class, RateLimitEndpointAutoConfiguration.class))
            .withPropertyValues("ratelimit.tiers.free.limits[0].limit=10", "ratelimit.tiers.free.limits[0].period=1m",
                    "ratelimit.rules[0].name=api");

    @Test
    void aMeterRegistryGetsTheMetersAndTheEnforcerReportsToThem() {
        runner.withBean(MeterRegistry.class, SimpleMeterRegistry::new).run(context -> {
            assertThat(context).hasSingleBean(RateLimitMetrics.class);
            context.getBean(RateLimitEnforcer.class)
                    .enforce(List.of(new RateLimitEnforcer.Check("api", "free", "ip:192.0.2.1", 1)));
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(registry.get("ratelimit.requests").tags("rule", "api", "tier", "free", "outcome", "allowed")
                    .counter().count()).isEqualTo(1);
            assertThat(registry.get("ratelimit.decision").tags("rule", "api").timer().count()).isEqualTo(1);
        });
    }

    @Test
    void everyRuleAndTierHasZeroSeriesBeforeItsFirstDecision() {
        runner.withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("ratelimit.tiers.premium.limits[0].limit=100",
                        "ratelimit.tiers.premium.limits[0].period=1m", "ratelimit.rules[1].name=trial",
                        "ratelimit.rules[1].shadow=true", "ratelimit.rules[1].tier=free")
                .run(context -> {
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    for (String tier : List.of("free", "premium")) {
                        for (String outcome : List.of("allowed", "denied")) {
                            assertThat(registry.get("ratelimit.requests")
                                    .tags("rule", "api", "tier", tier, "outcome", outcome).counter().count())
                                    .as("api/%s/%s", tier, outcome).isZero();
                        }
                    }
                    assertThat(registry.find("ratelimit.requests").tags("rule", "trial").counters())
                            .as("a shadow rule with a fixed tier: allowed and shadow_denied, for that tier only")
                            .extracting(c -> c.getId().getTag("tier") + "/" + c.getId().getTag("outcome"))
                            .containsExactlyInAnyOrder("free/allowed", "free/shadow_denied");
                    assertThat(registry.find("ratelimit.requests").tags("outcome", "error").counters()).isEmpty();
                    assertThat(registry.get("ratelimit.decision").tags("rule", "trial").timer().count()).isZero();
                });
    }

    @Test
    void anInlineRuleIsCountedUnderTierNone() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new RateLimitMetrics(registry).onRule(new RateLimitEnforcer.RuleView("Api.search",
                dev.ratelimit.core.Algorithm.TOKEN_BUCKET, null, true, false, false, java.util.Map.of()));
        assertThat(registry.find("ratelimit.requests").counters())
                .extracting(c -> c.getId().getTag("tier") + "/" + c.getId().getTag("outcome"))
                .containsExactlyInAnyOrder("none/allowed", "none/denied");
    }

    @Test
    void withoutARegistryOrMicrometerThereAreNoMeters() {
        runner.run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(RateLimitMetrics.class));
        runner.withClassLoader(new FilteredClassLoader(MeterRegistry.class, Endpoint.class))
                .run(context -> assertThat(context).hasNotFailed().hasSingleBean(RateLimitEnforcer.class)
                        .doesNotHaveBean(RateLimitMetrics.class).doesNotHaveBean(RateLimitsEndpoint.class));
    }

    @Test
    void theEndpointExistsOnlyWhenExposed() {
        runner.run(context -> assertThat(context).doesNotHaveBean(RateLimitsEndpoint.class));
        runner.withPropertyValues("management.endpoints.web.exposure.include=ratelimits")
                .run(context -> assertThat(context).hasSingleBean(RateLimitsEndpoint.class));
        runner.withPropertyValues("management.endpoints.web.exposure.include=ratelimits",
                        "management.endpoint.ratelimits.access=NONE")
                .run(context -> assertThat(context).doesNotHaveBean(RateLimitsEndpoint.class));
    }

    /**
     * The endpoint's DELETE resets a client's limits: exposing the endpoint must not open that to
     * whoever can reach it, so only its reads are web operations until access is widened.
     */
    @Test
    void theEndpointOnlyReadsUntilItsAccessIsUnrestricted() {
        WebApplicationContextRunner web = runner.withConfiguration(AutoConfigurations.of(
                        EndpointAutoConfiguration.class, WebEndpointAutoConfiguration.class))
                .withPropertyValues("management.endpoints.web.exposure.include=ratelimits");
        web.run(context -> assertThat(operations(context)).containsOnly(OperationType.READ));
        web.withPropertyValues("management.endpoint.ratelimits.access=UNRESTRICTED")
                .run(context -> assertThat(operations(context)).contains(OperationType.READ, OperationType.DELETE));
    }

    private static List<OperationType> operations(AssertableWebApplicationContext context) {
        assertThat(context).hasNotFailed();
        return context.getBean(WebEndpointsSupplier.class).getEndpoints().stream()
                .filter(endpoint -> endpoint.getEndpointId().toString().equals("ratelimits"))
                .flatMap(endpoint -> endpoint.getOperations().stream())
                .map(WebOperation::getType)
                .toList();
    }

    @Test
    void disablingRateLimitingRemovesTheMetersAndTheEndpoint() {
        runner.withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("ratelimit.enabled=false", "management.endpoints.web.exposure.include=ratelimits")
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(RateLimitMetrics.class)
                        .doesNotHaveBean(RateLimitsEndpoint.class));
    }

    @Test
    void theEndpointFindsARuleWhoseNameHoldsASlash() {
        runner.withPropertyValues("management.endpoints.web.exposure.include=ratelimits",
                        "ratelimit.default-tier=free", "ratelimit.rules[1].name=api/v1")
                .run(context -> {
                    RateLimitsEndpoint endpoint = context.getBean(RateLimitsEndpoint.class);
                    RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
                    String key = "ip:2001:db8:0:1:0:0:0:0/64"; // a key that spans two segments too
                    enforcer.enforce(List.of(new RateLimitEnforcer.Check("api/v1", "free", key, 3)));

                    // the path /actuator/ratelimits/api/v1/ip:2001:.../64 arrives as these segments
                    var v1 = endpoint.client("api", "v1", "ip:2001:db8:0:1:0:0:0:0", "64");
                    assertThat(v1.getStatus()).isEqualTo(200);
                    assertThat(v1.getBody().rule()).isEqualTo("api/v1");
                    assertThat(v1.getBody().policies().get("free").remaining()).isEqualTo(7);
                    var api = endpoint.client("api", "ip:2001:db8:0:1:0:0:0:0", "64");
                    assertThat(api.getBody().rule()).isEqualTo("api");
                    assertThat(api.getBody().policies().get("free").remaining()).isEqualTo(10);

                    assertThat(endpoint.reset("api", "v1", "ip:2001:db8:0:1:0:0:0:0", "64").getStatus()).isEqualTo(204);
                    assertThat(enforcer.peek("api/v1", key).get("free").remaining()).isEqualTo(10);
                    assertThat(endpoint.client("api", "v1").getStatus()).isEqualTo(200); // key "v1" under "api"
                    assertThat(endpoint.client("api", "v1", " ").getStatus()).isEqualTo(400);
                    assertThat(endpoint.client("apiv1", "ip:192.0.2.1").getStatus()).isEqualTo(404);
                });
    }

    /**
     * An operator writes an IPv6 client as addresses are usually written, compressed ({@code ::}), or
     * gives the client's own address rather than its group. The limiter key is the group, written out
     * in full: the endpoint answered for a key no request had, with full limits, and a reset said 204
     * and restored nothing, while the client stayed limited.
     */
    @Test
    void theEndpointFindsAnIpv6ClientHoweverItsAddressIsWritten() {
        runner.withPropertyValues("management.endpoints.web.exposure.include=ratelimits").run(context -> {
            RateLimitsEndpoint endpoint = context.getBean(RateLimitsEndpoint.class);
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            String key = "ip:2001:db8:0:1:0:0:0:0/64";
            enforcer.enforce(List.of(new RateLimitEnforcer.Check("api", "free", key, 4)));

            assertThat(endpoint.client("api", "ip:2001:db8:0:1::", "64").getBody().policies().get("free").remaining())
                    .isEqualTo(6);
            assertThat(endpoint.client("api", "ip:2001:DB8:0:1::abcd").getBody().policies().get("free").remaining())
                    .isEqualTo(6);
            assertThat(endpoint.client("api", "ip:2001:db8:0:1::", "64").getBody().key()).isEqualTo(key);
            assertThat(endpoint.reset("api", "ip:2001:db8:0:1::", "64").getStatus()).isEqualTo(204);
            assertThat(enforcer.peek("api", key).get("free").remaining()).isEqualTo(10);

            enforcer.enforce(List.of(new RateLimitEnforcer.Check("api", "free", "ip:192.0.2.1", 4)));
            assertThat(endpoint.client("api", "ip:::ffff:192.0.2.1").getBody().policies().get("free").remaining())
                    .isEqualTo(6);
            assertThat(endpoint.client("api", "ip:not-an-address").getStatus()).isEqualTo(200);
        });
    }

    @Test
    void withoutServletsTheEndpointTakesIpKeysAsWritten() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(RateLimitAutoConfiguration.class,
                        RateLimitEndpointAutoConfiguration.class))
                .withClassLoader(new FilteredClassLoader("jakarta.servlet", "org.springframework.web"))
                .withPropertyValues("ratelimit.tiers.free.limits[0].limit=10", "ratelimit.tiers.free.limits[0].period=1m",
                        "ratelimit.rules[0].name=api", "management.endpoints.web.exposure.include=ratelimits")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(RateLimitsEndpoint.class).client("api", "ip:2001:db8::1").getBody().key())
                            .isEqualTo("ip:2001:db8::1");
                });
    }

    /** A store that cannot confirm a reset (Redis down) must not be reported as having done it. */
    @Test
    void aResetTheStoreDidNotConfirmIsA503NotA204() {
        runner.withPropertyValues("management.endpoints.web.exposure.include=ratelimits")
                .withBean(RateLimiterFactory.class, () -> (name, policy) -> new Refusing(false, true, policy))
                .run(context -> {
                    RateLimitsEndpoint endpoint = context.getBean(RateLimitsEndpoint.class);
                    assertThat(endpoint.reset("api", "ip:192.0.2.1").getStatus()).isEqualTo(503);
                    assertThat(endpoint.client("api", "ip:192.0.2.1").getStatus()).isEqualTo(200);
                });
    }

    @Test
    void aPeekTheStoreCannotAnswerIsA503NotA500() {
        runner.withPropertyValues("management.endpoints.web.exposure.include=ratelimits")
                .withBean(RateLimiterFactory.class, () -> (name, policy) -> new Refusing(true, false, policy))
                .run(context -> {
                    RateLimitsEndpoint endpoint = context.getBean(RateLimitsEndpoint.class);
                    assertThat(endpoint.client("api", "ip:192.0.2.1").getStatus()).isEqualTo(503);
                    assertThat(endpoint.client("api", "ip:192.0.2.1").getBody()).isNull();
                    assertThat(endpoint.reset("api", "ip:192.0.2.1").getStatus()).isEqualTo(204);
                });
    }

    /** Decides as an in-memory limiter does, and refuses peeks or resets as an unreachable store would. */
    private static final class Refusing extends ForwardingRateLimiter {
        private final boolean peeks;
        private final boolean resets;

        Refusing(boolean peeks, boolean resets, Policy policy) {
            super(RateLimiter.builder().algorithm(policy.algorithm()).limits(policy.limits()).build());
            this.peeks = peeks;
            this.resets = resets;
        }

        @Override
        public Decision peek(String key) {
            if (peeks) {
                throw new IllegalStateException("the store is unreachable");
            }
            return super.peek(key);
        }

        @Override
        public void reset(String key) {
            if (resets) {
                throw new IllegalStateException("the store is unreachable");
            }
            super.reset(key);
        }
    }
}
