package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.security.test.web.servlet.request.SecurityMockMvcRequestPostProcessors.httpBasic;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.spring.RateLimited;
import java.net.URI;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.boot.web.servlet.AbstractFilterRegistrationBean;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.http.MediaType;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;
import org.springframework.test.web.servlet.request.MockHttpServletRequestBuilder;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * The filter and {@code @RateLimited} controllers end to end, behind Spring Security, with time
 * stopped: every figure in a header is exact. Each test uses its own client addresses, so the tests
 * share one context without sharing buckets.
 *
 * <p>The free tier allows 3 a minute (a token every 20 s) and 100 an hour (one every 36 s); the
 * premium tier 10 a second with bursts of 20.
 */
@SpringBootTest(classes = RateLimitFilterTests.App.class, properties = {
    "ratelimit.tiers.free.limits[0].limit=3", "ratelimit.tiers.free.limits[0].period=1m",
    "ratelimit.tiers.free.limits[1].limit=100", "ratelimit.tiers.free.limits[1].period=1h",
    "ratelimit.tiers.premium.limits[0].limit=10", "ratelimit.tiers.premium.limits[0].period=1s",
    "ratelimit.tiers.premium.limits[0].capacity=20",
    "ratelimit.api-keys.good-key=premium", "ratelimit.api-keys.other-key=premium",
    "ratelimit.api-keys.third-key=premium",
    "ratelimit.trusted-proxies=10.9.0.0/16",
    "ratelimit.exclude-paths=/api/health",
    "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**", "ratelimit.rules[0].key=api-key",
    "ratelimit.rules[1].name=user", "ratelimit.rules[1].paths=/user/**", "ratelimit.rules[1].key=principal",
    "ratelimit.rules[2].name=export", "ratelimit.rules[2].paths=/export", "ratelimit.rules[2].methods=post",
    "ratelimit.rules[2].cost=2", "ratelimit.rules[2].key=ip",
    "ratelimit.rules[3].name=tenant", "ratelimit.rules[3].paths=/tenant/**",
    "ratelimit.rules[3].key=#request.getHeader('X-Tenant')",
})
@AutoConfigureMockMvc
class RateLimitFilterTests {

    @Autowired
    private MockMvc mvc;

    @Autowired
    private ManualTicker ticker;

    @Autowired
    private ApplicationContext context;

    @Test
    void filterRunsJustAfterSpringSecuritysChainByDefault() {
        int security = context.getBean("securityFilterChainRegistration", AbstractFilterRegistrationBean.class).getOrder();
        int limiter = context.getBean("rateLimitFilterRegistration", AbstractFilterRegistrationBean.class).getOrder();
        assertThat(security).isEqualTo(-100);
        assertThat(limiter).isEqualTo(-90);
    }

    @Test
    void freeTierGetsExactHeadersThenA429ProblemThenRefills() throws Exception {
        call(get("/api/items"), "192.0.2.1").andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy", "\"free\";q=3;w=60, \"free-2\";q=100;w=3600"))
                .andExpect(header().string("RateLimit", "\"free\";r=2;t=36"))
                .andExpect(header().string("X-RateLimit-Limit", "3"))
                .andExpect(header().string("X-RateLimit-Remaining", "2"))
                .andExpect(header().string("X-RateLimit-Reset", "36"))
                .andExpect(header().doesNotExist("Retry-After"));
        call(get("/api/items"), "192.0.2.1").andExpect(status().isOk());
        call(get("/api/items"), "192.0.2.1").andExpect(status().isOk())
                .andExpect(header().string("RateLimit", "\"free\";r=0;t=108"));

        call(get("/api/items"), "192.0.2.1").andExpect(status().isTooManyRequests())
                .andExpect(content().contentType(MediaType.APPLICATION_PROBLEM_JSON))
                .andExpect(content().json("""
                        {"type":"about:blank","title":"Too Many Requests","status":429,
                         "detail":"Rate limit of policy \\"free\\" exceeded; retry in 20 seconds.",
                         "instance":"/api/items","policies":["free"]}""", true))
                .andExpect(header().string("Retry-After", "20"))
                .andExpect(header().string("RateLimit", "\"free\";r=0;t=108"))
                .andExpect(header().string("X-RateLimit-Remaining", "0"))
                .andExpect(header().string("X-RateLimit-Reset", "108"));

        // One minute token is back; the hour limit now lacks 4 tokens, 144 s of refill minus the 20 s passed.
        ticker.advance(Duration.ofSeconds(20));
        call(get("/api/items"), "192.0.2.1").andExpect(status().isOk())
                .andExpect(header().string("RateLimit", "\"free\";r=0;t=124"));
    }

    @Test
    void knownApiKeyGetsItsTierAndItsOwnBucket() throws Exception {
        for (int i = 19; i >= 0; i--) {
            call(get("/api/items").header("X-API-Key", "good-key"), "192.0.2.2").andExpect(status().isOk())
                    .andExpect(header().string("RateLimit-Policy", "\"premium\";q=10;w=1"))
                    .andExpect(header().string("X-RateLimit-Remaining", Long.toString(i)));
        }
        call(get("/api/items").header("X-API-Key", "good-key"), "192.0.2.2")
                .andExpect(status().isTooManyRequests()).andExpect(header().string("Retry-After", "1"))
                .andExpect(header().string("RateLimit", "\"premium\";r=0;t=2"));
        // The key's bucket is not the address's: the same client without the key is still fresh.
        call(get("/api/items"), "192.0.2.2").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "2"));
    }

    @Test
    void unknownApiKeysAreLimitedByAddressSoTheyCannotMintBuckets() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int i = 0; i < 3; i++) {
            call(get("/api/items").header("X-API-Key", Long.toHexString(random.nextLong())), "192.0.2.3")
                    .andExpect(status().isOk());
        }
        for (int i = 0; i < 20; i++) {
            String key = Long.toHexString(random.nextLong());
            int status = call(get("/api/items").header("X-API-Key", key), "192.0.2.3").andReturn().getResponse().getStatus();
            assertThat(status).as("fresh key %s (seed %d) must share the address's exhausted bucket", key, seed)
                    .isEqualTo(429);
        }
        call(get("/api/items").header("X-API-Key", "other-key"), "192.0.2.3").andExpect(status().isOk());
    }

    @Test
    void principalRuleCountsPerUserAndFallsBackToTheAddress() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(get("/user/me").with(httpBasic("alice", "pw")), "192.0.2.4").andExpect(status().isOk());
        }
        call(get("/user/me").with(httpBasic("alice", "pw")), "192.0.2.5").andExpect(status().isTooManyRequests());
        call(get("/user/me").with(httpBasic("bob", "pw")), "192.0.2.4").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "2"));
        // Anonymous: counted by address, apart from the users who came from it.
        call(get("/user/me"), "192.0.2.4").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "2"));
    }

    @Test
    void excludedPathsAreNeverLimited() throws Exception {
        for (int i = 0; i < 10; i++) {
            call(get("/api/health"), "192.0.2.6").andExpect(status().isOk())
                    .andExpect(header().doesNotExist("RateLimit")).andExpect(header().doesNotExist("X-RateLimit-Limit"));
        }
    }

    @Test
    void costTakesSeveralPermitsAndMethodsNarrowTheRule() throws Exception {
        call(post("/export"), "192.0.2.7").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "1"));
        call(post("/export"), "192.0.2.7").andExpect(status().isTooManyRequests())
                .andExpect(header().string("Retry-After", "20"));
        call(get("/export"), "192.0.2.7").andExpect(status().isOk()).andExpect(header().doesNotExist("RateLimit"));
    }

    @Test
    void encodedPathsCannotSlipPastARule() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(get(URI.create("/%61pi/items")), "192.0.2.12").andExpect(status().isOk());
        }
        call(get("/api/items"), "192.0.2.12").andExpect(status().isTooManyRequests());
    }

    @Test
    void spelKeyCountsPerTenantAndFallsBackToTheAddress() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(get("/tenant/x").header("X-Tenant", "acme"), "192.0.2.8").andExpect(status().isOk());
        }
        call(get("/tenant/x").header("X-Tenant", "acme"), "192.0.2.9").andExpect(status().isTooManyRequests());
        call(get("/tenant/x").header("X-Tenant", "globex"), "192.0.2.8").andExpect(status().isOk());
        call(get("/tenant/x"), "192.0.2.8").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "2"));
    }

    @Test
    void annotatedControllerMethodGetsTheSame429AndHeaders() throws Exception {
        call(get("/annotated"), "192.0.2.10").andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy", "\"Endpoints.annotated\";q=2;w=10"))
                .andExpect(header().string("RateLimit", "\"Endpoints.annotated\";r=1;t=5"));
        call(get("/annotated"), "192.0.2.10").andExpect(status().isOk());
        call(get("/annotated"), "192.0.2.10").andExpect(status().isTooManyRequests())
                .andExpect(content().contentType(MediaType.APPLICATION_PROBLEM_JSON))
                .andExpect(content().json("""
                        {"type":"about:blank","title":"Too Many Requests","status":429,
                         "detail":"Rate limit of policy \\"Endpoints.annotated\\" exceeded; retry in 5 seconds.",
                         "instance":"/annotated","policies":["Endpoints.annotated"]}""", true))
                .andExpect(header().string("Retry-After", "5"))
                .andExpect(header().string("X-RateLimit-Limit", "2"))
                .andExpect(header().string("X-RateLimit-Remaining", "0"));
    }

    @Test
    void annotationWithoutAttributesAppliesTheCallersOwnTier() throws Exception {
        call(get("/tiered").header("X-API-Key", "third-key"), "192.0.2.13").andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy", "\"premium\";q=10;w=1"))
                .andExpect(header().string("X-RateLimit-Remaining", "19"));
        call(get("/tiered"), "192.0.2.13").andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy", "\"free\";q=3;w=60, \"free-2\";q=100;w=3600"))
                .andExpect(header().string("X-RateLimit-Remaining", "2"));
    }

    @Test
    void annotationAndFilterRuleTogetherReportBothPolicies() throws Exception {
        call(get("/api/annotated"), "192.0.2.11").andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy",
                        "\"free\";q=3;w=60, \"free-2\";q=100;w=3600, \"Endpoints.apiAnnotated\";q=1;w=60"))
                .andExpect(header().string("RateLimit", "\"free\";r=2;t=36, \"Endpoints.apiAnnotated\";r=0;t=60"))
                .andExpect(header().string("X-RateLimit-Remaining", "0"));
        call(get("/api/annotated"), "192.0.2.11").andExpect(status().isTooManyRequests())
                .andExpect(header().string("Retry-After", "60"))
                .andExpect(content().json("{\"policies\":[\"Endpoints.apiAnnotated\"]}"));
    }

    @Test
    void spoofedForwardedForFromAnUntrustedPeerChangesNothing() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(get("/api/items").header("X-Forwarded-For", "198.51.100." + i), "203.0.113.9").andExpect(status().isOk());
        }
        call(get("/api/items").header("X-Forwarded-For", "198.51.100.99"), "203.0.113.9")
                .andExpect(status().isTooManyRequests());
        call(get("/api/items").header("Forwarded", "for=198.51.100.98"), "203.0.113.9")
                .andExpect(status().isTooManyRequests());
    }

    @Test
    void forwardedForFromATrustedProxyIsHonouredRightToLeft() throws Exception {
        for (int i = 0; i < 3; i++) {
            // Whatever the client prepends is ignored: the proxy appended the address it saw.
            call(get("/api/items").header("X-Forwarded-For", "6.6.6." + i + ", 198.51.100.50"), "10.9.0.1")
                    .andExpect(status().isOk());
        }
        call(get("/api/items").header("X-Forwarded-For", "198.51.100.50"), "10.9.3.3").andExpect(status().isTooManyRequests());
        call(get("/api/items").header("X-Forwarded-For", "198.51.100.51"), "10.9.0.1").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "2"));
        // Two trusted hops: the client is the first untrusted address from the right.
        call(get("/api/items").header("X-Forwarded-For", "198.51.100.50, 10.9.0.7"), "10.9.0.1")
                .andExpect(status().isTooManyRequests());
    }

    @Test
    void forwardedForGroupsIpv6ByPrefix() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(get("/api/items").header("X-Forwarded-For", "[2001:db8:cafe:1::" + (i + 1) + "]:4711"), "10.9.0.1")
                    .andExpect(status().isOk());
        }
        // Another address of the same /64 is the same client.
        call(get("/api/items").header("X-Forwarded-For", "2001:db8:cafe:1:ffff::9"), "10.9.0.1")
                .andExpect(status().isTooManyRequests());
        call(get("/api/items").header("X-Forwarded-For", "2001:db8:cafe:2::1"), "10.9.0.1").andExpect(status().isOk());
    }

    @Test
    void aForwardedHeaderIsNotReadWhenTheProxyWritesXForwardedFor() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(get("/api/items").header("Forwarded", "for=198.51.100." + (60 + i)).header("X-Forwarded-For",
                    "198.51.100.70"), "10.9.0.1").andExpect(status().isOk());
        }
        call(get("/api/items").header("Forwarded", "for=198.51.100.69").header("X-Forwarded-For", "198.51.100.70"),
                "10.9.0.1").andExpect(status().isTooManyRequests());
    }

    private ResultActions call(MockHttpServletRequestBuilder request, String remoteAddress) throws Exception {
        return WebRunners.perform(mvc, request, remoteAddress);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import({Endpoints.class, CatchAll.class})
    static class App {

        /** Replaces the auto-configured system ticker, so time moves only when a test says so. */
        @Bean
        ManualTicker ticker() {
            return new ManualTicker();
        }

        @Bean
        SecurityFilterChain security(HttpSecurity http) throws Exception {
            return http.authorizeHttpRequests(requests -> requests.anyRequest().permitAll())
                    .httpBasic(Customizer.withDefaults())
                    .csrf(csrf -> csrf.disable())
                    .build();
        }

        @Bean
        InMemoryUserDetailsManager users() {
            return new InMemoryUserDetailsManager(User.withUsername("alice").password("{noop}pw").build(),
                    User.withUsername("bob").password("{noop}pw").build());
        }
    }

    /** A catch-all handler must not turn a {@code @RateLimited} denial into a 500. */
    @RestControllerAdvice
    static class CatchAll {

        @ExceptionHandler(RuntimeException.class)
        ResponseEntity<String> failed(RuntimeException e) {
            return ResponseEntity.internalServerError().body("failed");
        }
    }

    @RestController
    static class Endpoints {

        @GetMapping({"/api/**", "/user/**", "/tenant/**", "/export"})
        String ok() {
            return "ok";
        }

        @PostMapping("/export")
        String export() {
            return "exported";
        }

        @GetMapping("/annotated")
        @RateLimited(limit = 2, period = "10s")
        public String annotated() {
            return "ok";
        }

        @GetMapping("/tiered")
        @RateLimited
        public String tiered() {
            return "ok";
        }

        @GetMapping("/api/annotated")
        @RateLimited(limit = 1, period = "1m")
        public String apiAnnotated() {
            return "ok";
        }
    }
}
