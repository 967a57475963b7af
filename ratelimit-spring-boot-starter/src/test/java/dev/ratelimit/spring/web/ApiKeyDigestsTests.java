package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.spring.RateLimitEnforcer;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * API keys configured by their SHA-256 alone ({@code ratelimit.api-key-digests}), so that the
 * configuration, and {@code /actuator/configprops}, carries no secret. Free allows 2 a minute,
 * premium 5.
 */
class ApiKeyDigestsTests {

    /** {@code printf %s 'digest-only-key' | sha256sum} */
    private static final String DIGEST = "70f1a37e02734ae996ea04f467884eafe363871f7ac0e8d23496ae6dd7cebd9f";

    private final WebApplicationContextRunner runner = WebRunners.runner(Endpoint.class,
            "ratelimit.tiers.free.limits[0].limit=2", "ratelimit.tiers.free.limits[0].period=1m",
            "ratelimit.tiers.premium.limits[0].limit=5", "ratelimit.tiers.premium.limits[0].period=1m",
            "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**");

    @Test
    void aKeyKnownByItsDigestGetsItsTierAndItsOwnBucket() {
        runner.withPropertyValues("ratelimit.api-key-digests." + DIGEST + "=premium").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            // two addresses, one key: the key's bucket, with premium's limits
            WebRunners.perform(mvc, get("/api/hello").header("X-API-Key", "digest-only-key"), "192.0.2.1")
                    .andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "4"));
            WebRunners.perform(mvc, get("/api/hello").header("X-API-Key", "digest-only-key"), "192.0.2.2")
                    .andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "3"));
            // a key whose digest is not listed is unknown: free, by address
            WebRunners.perform(mvc, get("/api/hello").header("X-API-Key", "digest-only-kez"), "192.0.2.1")
                    .andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "1"));
            assertThat(context.getBean(RateLimitEnforcer.class).peek("api", "key:digest-only-key").get("premium")
                    .remaining()).isEqualTo(3);
        });
    }

    @Test
    void upperCaseHexIsTheSameDigest() {
        runner.withPropertyValues("ratelimit.api-key-digests." + DIGEST.toUpperCase() + "=premium").run(context ->
                WebRunners.perform(WebRunners.mvc(context), get("/api/hello").header("X-API-Key", "digest-only-key"),
                        "192.0.2.1").andExpect(header().string("X-RateLimit-Remaining", "4")));
    }

    @Test
    void keysListedBothWaysAgree() {
        runner.withPropertyValues("ratelimit.api-key-digests." + DIGEST + "=premium",
                "ratelimit.api-keys.digest-only-key=premium").run(context ->
                WebRunners.perform(WebRunners.mvc(context), get("/api/hello").header("X-API-Key", "digest-only-key"),
                        "192.0.2.1").andExpect(header().string("X-RateLimit-Remaining", "4")));
    }

    @RestController
    static class Endpoint {

        @GetMapping("/api/hello")
        String hello() {
            return "hello";
        }
    }
}
