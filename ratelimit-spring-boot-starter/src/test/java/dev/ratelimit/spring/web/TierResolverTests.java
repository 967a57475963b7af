package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimited;
import dev.ratelimit.spring.TierResolver;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * An application's own {@link TierResolver} that knows clients by more than their API key: signed-in
 * users get premium, the key {@code gold} enterprise. A key counts as known only when the tier
 * depends on it, so a signed-in user sending made-up keys cannot mint a bucket per key. Tiers of 2
 * (free), 3 (premium) and 4 (enterprise) a minute.
 */
class TierResolverTests {

    private final WebApplicationContextRunner runner = WebRunners.runner(Endpoint.class,
            "ratelimit.tiers.free.limits[0].limit=2", "ratelimit.tiers.free.limits[0].period=1m",
            "ratelimit.tiers.premium.limits[0].limit=3", "ratelimit.tiers.premium.limits[0].period=1m",
            "ratelimit.tiers.enterprise.limits[0].limit=4", "ratelimit.tiers.enterprise.limits[0].period=1m",
            "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**",
            "ratelimit.rules[1].name=keyed", "ratelimit.rules[1].paths=/keyed/**", "ratelimit.rules[1].key=api-key")
            .withBean(TierResolver.class, () -> request -> "gold".equals(request.getHeader("X-API-Key")) ? "enterprise"
                    : request.getUserPrincipal() != null ? "premium" : null);

    @Test
    void aSignedInUsersMadeUpKeysShareTheUsersBucket() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        runner.run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            for (String path : new String[] {"/api/hello", "/keyed/hello", "/annotated"}) {
                for (int i = 0; i < 5; i++) {
                    String key = Long.toHexString(random.nextLong());
                    int status = WebRunners.perform(mvc, get(path).header("X-API-Key", key).principal(() -> "alice"),
                            "192.0.2.1").andReturn().getResponse().getStatus();
                    assertThat(status).as("%s, request %d with made-up key %s (seed %d)", path, i + 1, key, seed)
                            .isEqualTo(i < 3 ? 200 : 429);
                }
            }
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            assertThat(enforcer.peek("api", "user:alice").get("premium").remaining()).isZero();
            assertThat(enforcer.peek("keyed", "ip:192.0.2.1").get("premium").remaining()).isZero();
        });
    }

    @Test
    void aKeyTheTierDependsOnIsStillTheClientsKey() {
        runner.run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            for (String path : new String[] {"/api/hello", "/keyed/hello", "/annotated"}) {
                WebRunners.perform(mvc, get(path).header("X-API-Key", "gold").principal(() -> "alice"), "192.0.2.2")
                        .andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "3"));
                WebRunners.perform(mvc, get(path).header("X-API-Key", "gold"), "192.0.2.3")
                        .andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "2"));
            }
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            assertThat(enforcer.peek("api", "key:gold").get("enterprise").remaining()).isEqualTo(2);
            assertThat(enforcer.peek("keyed", "key:gold").get("enterprise").remaining()).isEqualTo(2);
            assertThat(enforcer.peek("api", "user:alice").get("premium").remaining()).isEqualTo(3);
        });
    }

    @RestController
    static class Endpoint {

        @GetMapping({"/api/hello", "/keyed/hello"})
        String hello() {
            return "hello";
        }

        /** Its own rule of the client's tier, keyed by the ClientKeyResolver bean. */
        @GetMapping("/annotated")
        @RateLimited
        public String annotated() {
            return "annotated";
        }
    }
}
