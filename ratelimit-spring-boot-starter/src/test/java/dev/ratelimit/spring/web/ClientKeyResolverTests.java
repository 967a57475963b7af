package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.spring.ClientKeyResolver;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimited;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.request.MockHttpServletRequestBuilder;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * An application's own {@link ClientKeyResolver}, the README's {@code X-Tenant} example, behind a rule
 * without a key and a {@code @RateLimited} method without one; and a rule's own key, which such a
 * method under the rule shares. One tier of 2 a minute.
 */
class ClientKeyResolverTests {

    private final WebApplicationContextRunner runner = WebRunners.runner(Endpoint.class,
            "ratelimit.tiers.free.limits[0].limit=2", "ratelimit.tiers.free.limits[0].period=1m",
            "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**")
            .withBean(ClientKeyResolver.class, () -> request -> request.getHeader("X-Tenant"));

    @Test
    void aTenantNamedLikeAnIpKeyCannotDrainThatClientsBucket() {
        runner.run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            for (int i = 0; i < 3; i++) { // an attacker at another address names the victim's IP bucket
                WebRunners.perform(mvc, get("/api/hello").header("X-Tenant", "ip:192.0.2.77"), "198.51.100.9");
            }
            // The victim sends no X-Tenant, so it is keyed by its IP, and has made no request yet.
            WebRunners.perform(mvc, get("/api/hello"), "192.0.2.77").andExpect(status().isOk());
            WebRunners.perform(mvc, get("/annotated"), "192.0.2.77").andExpect(status().isOk());
        });
    }

    @Test
    void aTenantIsCountedUnderAKeyOfItsOwnByRulesAndAnnotationsAlike() {
        runner.run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            WebRunners.perform(mvc, get("/api/hello").header("X-Tenant", "acme"), "192.0.2.1").andExpect(status().isOk());
            WebRunners.perform(mvc, get("/annotated").header("X-Tenant", "acme"), "192.0.2.1").andExpect(status().isOk());
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            assertThat(enforcer.peek("api", "custom:acme").get("free").remaining()).isEqualTo(0);
            assertThat(enforcer.peek("api", "acme").get("free").remaining()).isEqualTo(2);
            assertThat(enforcer.peek("api", "ip:192.0.2.1").get("free").remaining()).isEqualTo(2);
        });
    }

    @Test
    void aMissingOrBlankTenantFallsBackToTheClientIp() {
        runner.run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            WebRunners.perform(mvc, get("/api/hello"), "192.0.2.2").andExpect(status().isOk());
            WebRunners.perform(mvc, get("/annotated").header("X-Tenant", " "), "192.0.2.2").andExpect(status().isOk());
            WebRunners.perform(mvc, get("/api/hello").header("X-Tenant", ""), "192.0.2.2")
                    .andExpect(status().isTooManyRequests());
        });
    }

    @Test
    void theStartersOwnResolverKeepsItsPrefixedKeys() {
        WebRunners.runner(Endpoint.class, "ratelimit.tiers.free.limits[0].limit=2",
                "ratelimit.tiers.free.limits[0].period=1m", "ratelimit.rules[0].name=api",
                "ratelimit.rules[0].paths=/api/**").run(context -> {
                    MockMvc mvc = WebRunners.mvc(context);
                    WebRunners.perform(mvc, get("/api/hello"), "192.0.2.3").andExpect(status().isOk());
                    assertThat(context.getBean(RateLimitEnforcer.class).peek("api", "ip:192.0.2.3").get("free")
                            .remaining()).isEqualTo(1);
                });
    }

    /**
     * Under a rule with a key of its own, the method counts the client in the bucket the rule's
     * paths do. Every request carries a known API key, which the starter's default resolver would
     * key the method's calls by, and a tenant header.
     */
    @ParameterizedTest(name = "key: {0}")
    @CsvSource(delimiter = '|', value = {
        "ip                              | ip:192.0.2.1",
        "header:X-Tenant                 | header:acme",
        "#request.getHeader('X-Tenant')  | expr:acme",
    })
    void anAnnotatedMethodUnderARuleWithItsOwnKeySharesTheRulesBucket(String key, String limiterKey) {
        WebRunners.runner(Endpoint.class, "ratelimit.tiers.free.limits[0].limit=2",
                "ratelimit.tiers.free.limits[0].period=1m", "ratelimit.api-keys.k1=free",
                "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**", "ratelimit.rules[0].key=" + key)
                .run(context -> {
                    MockMvc mvc = WebRunners.mvc(context);
                    WebRunners.perform(mvc, tenant(get("/api/hello")), "192.0.2.1").andExpect(status().isOk());
                    WebRunners.perform(mvc, tenant(get("/annotated")), "192.0.2.1").andExpect(status().isOk());
                    assertThat(context.getBean(RateLimitEnforcer.class).peek("api", limiterKey).get("free").remaining())
                            .as("both calls in the rule's own bucket").isZero();
                    WebRunners.perform(mvc, tenant(get("/annotated")), "192.0.2.1").andExpect(status().isTooManyRequests());
                    WebRunners.perform(mvc, tenant(get("/api/hello")), "192.0.2.1").andExpect(status().isTooManyRequests());
                });
    }

    /**
     * A rule's SpEL key that comes out an array (the values of a parameter) is keyed by its elements.
     * Its {@code toString()} is its identity, new for every request: each request had a bucket of its own.
     */
    @Test
    void aRuleKeyThatIsAnArrayIsKeyedByItsElements() {
        WebRunners.runner(Endpoint.class, "ratelimit.tiers.free.limits[0].limit=1",
                "ratelimit.tiers.free.limits[0].period=1m", "ratelimit.rules[0].name=api",
                "ratelimit.rules[0].paths=/api/**", "ratelimit.rules[0].key=#request.getParameterValues('t')")
                .run(context -> {
                    MockMvc mvc = WebRunners.mvc(context);
                    WebRunners.perform(mvc, get("/api/hello").param("t", "acme"), "192.0.2.1").andExpect(status().isOk());
                    WebRunners.perform(mvc, get("/api/hello").param("t", "acme"), "192.0.2.2")
                            .andExpect(status().isTooManyRequests());
                    WebRunners.perform(mvc, get("/api/hello").param("t", "other"), "192.0.2.1").andExpect(status().isOk());
                });
    }

    private static MockHttpServletRequestBuilder tenant(MockHttpServletRequestBuilder request) {
        return request.header("X-API-Key", "k1").header("X-Tenant", "acme");
    }

    @RestController
    static class Endpoint {

        @GetMapping("/api/hello")
        String hello() {
            return "hello";
        }

        /** Shares rule "api"'s buckets, but is outside its paths: only the annotation counts. */
        @GetMapping("/annotated")
        @RateLimited(rule = "api")
        public String annotated() {
            return "annotated";
        }
    }
}
