package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.security.test.web.servlet.request.SecurityMockMvcRequestPostProcessors.httpBasic;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.spring.RateLimited;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.web.servlet.AbstractFilterRegistrationBean;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;
import org.springframework.test.web.servlet.request.MockHttpServletRequestBuilder;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A rule marked {@code early} and a {@code principal} rule in one application: the early rule runs
 * in its own filter before Spring Security's chain, so failed logins are counted and refused before
 * credentials are checked, while the principal rule still runs after the chain and sees the user.
 * Each test uses its own client addresses, so the tests share one context without sharing buckets.
 * Time stands still (a {@link ManualTicker}): the limits are 3 a minute and nothing refills.
 */
@SpringBootTest(classes = EarlyRulesTests.App.class, properties = {
    "ratelimit.tiers.free.limits[0].limit=3", "ratelimit.tiers.free.limits[0].period=1m",
    "ratelimit.rules[0].name=login", "ratelimit.rules[0].paths=/login", "ratelimit.rules[0].methods=POST",
    "ratelimit.rules[0].key=ip", "ratelimit.rules[0].early=true",
    "ratelimit.rules[1].name=user", "ratelimit.rules[1].paths=/user/**", "ratelimit.rules[1].key=principal",
    "ratelimit.rules[2].name=user-ip", "ratelimit.rules[2].paths=/user/**", "ratelimit.rules[2].key=ip",
    "ratelimit.rules[2].early=true",
    "ratelimit.rules[3].name=account", "ratelimit.rules[3].paths=/account", "ratelimit.rules[3].key=principal",
    "ratelimit.rules[3].early=true",
    "ratelimit.rules[4].name=orders", "ratelimit.rules[4].paths=/orders", "ratelimit.rules[4].early=true",
})
@AutoConfigureMockMvc
class EarlyRulesTests {

    @Autowired
    private MockMvc mvc;

    @Autowired
    private ApplicationContext context;

    @Test
    void earlyFilterRunsBeforeSpringSecuritysChainAndTheMainFilterAfterIt() {
        int security = order("securityFilterChainRegistration");
        assertThat(order("rateLimitEarlyFilterRegistration")).isEqualTo(-110).isLessThan(security);
        assertThat(order("rateLimitFilterRegistration")).isEqualTo(-90).isGreaterThan(security);
        assertThat(context.getBean("rateLimitEarlyFilterRegistration", AbstractFilterRegistrationBean.class).isEnabled())
                .isTrue();
    }

    @Test
    void earlyRuleRefusesBadLoginsBeforeCredentialsAreChecked() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(post("/login").with(httpBasic("alice", "wrong")), "192.0.2.10").andExpect(status().isUnauthorized());
        }
        // 429, not 401: the early filter answered before Spring Security looked at the password.
        call(post("/login").with(httpBasic("alice", "wrong")), "192.0.2.10")
                .andExpect(status().isTooManyRequests()).andExpect(header().exists("Retry-After"));
        call(post("/login").with(httpBasic("alice", "wrong")), "192.0.2.11").andExpect(status().isUnauthorized());
    }

    @Test
    void mainFilterStillKeysByTheAuthenticatedUser() throws Exception {
        for (int i = 0; i < 3; i++) {
            call(get("/user/me").with(httpBasic("alice", "pw")), "192.0.2.20").andExpect(status().isOk());
        }
        // A fresh address, so the early user-ip rule admits; the principal rule refuses alice, which it
        // could not do if it ran before authentication (principal keys then fall back to the address).
        call(get("/user/me").with(httpBasic("alice", "pw")), "192.0.2.21").andExpect(status().isTooManyRequests())
                .andExpect(header().string("RateLimit", "\"free\";r=2;t=20, \"user-free\";r=0;t=60"));
        // bob has his own 3 from a fresh address, but the early rule has spent the first one's.
        call(get("/user/me").with(httpBasic("bob", "pw")), "192.0.2.22").andExpect(status().isOk());
        call(get("/user/me").with(httpBasic("bob", "pw")), "192.0.2.20").andExpect(status().isTooManyRequests())
                .andExpect(header().string("RateLimit", "\"free\";r=0;t=60"));
    }

    /**
     * Both rules share the tier "free", so the IETF headers name the first by the tier and the
     * second by rule and tier, as they do for two rules in one filter.
     */
    @Test
    void headersOfTheMainFilterReportTheEarlyRulesToo() throws Exception {
        call(get("/user/me").with(httpBasic("carol", "pw")), "192.0.2.30").andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy", "\"free\";q=3;w=60, \"user-free\";q=3;w=60"))
                .andExpect(header().string("RateLimit", "\"free\";r=2;t=20, \"user-free\";r=2;t=20"))
                .andExpect(header().string("X-RateLimit-Remaining", "2"));
    }

    @Test
    void anUnauthenticatedRequestMeetsOnlyTheEarlyRule() throws Exception {
        // Refused by Spring Security after the early filter took a permit, so the main filter never ran.
        call(get("/user/me"), "192.0.2.40").andExpect(status().isUnauthorized());
        call(get("/user/me").with(httpBasic("dave", "pw")), "192.0.2.40").andExpect(status().isOk())
                .andExpect(header().string("RateLimit", "\"free\";r=1;t=40, \"user-free\";r=2;t=20"));
    }

    /**
     * An early rule's paths are counted before Spring Security has set a user, so its principal key
     * falls back to the client IP there; a {@code @RateLimited(rule = ...)} handler of that rule runs
     * after authentication. Both must count the client in one bucket: else alice has 3 calls through
     * the paths per address and 3 more through the handler, and the rule's limit is doubled.
     */
    @Test
    void aRateLimitedHandlerOfAnEarlyPrincipalRuleCountsTheClientInTheFiltersBucket() throws Exception {
        call(get("/account").with(httpBasic("alice", "pw")), "192.0.2.50").andExpect(status().isOk());
        call(get("/account").with(httpBasic("alice", "pw")), "192.0.2.50").andExpect(status().isOk());
        call(get("/account/settings").with(httpBasic("alice", "pw")), "192.0.2.50").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "0"));
        call(get("/account/settings").with(httpBasic("alice", "pw")), "192.0.2.50")
                .andExpect(status().isTooManyRequests());
        call(get("/account").with(httpBasic("alice", "pw")), "192.0.2.50").andExpect(status().isTooManyRequests());
    }

    /** The same for an early rule without a key: the ClientKeyResolver would see the user only in the handler. */
    @Test
    void aRateLimitedHandlerOfAnEarlyRuleWithoutAKeyCountsTheClientInTheFiltersBucket() throws Exception {
        call(get("/orders").with(httpBasic("bob", "pw")), "192.0.2.60").andExpect(status().isOk());
        call(get("/orders").with(httpBasic("bob", "pw")), "192.0.2.60").andExpect(status().isOk());
        call(get("/orders/recent").with(httpBasic("bob", "pw")), "192.0.2.60").andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "0"));
        call(get("/orders").with(httpBasic("bob", "pw")), "192.0.2.60").andExpect(status().isTooManyRequests());
    }

    private int order(String registration) {
        return context.getBean(registration, AbstractFilterRegistrationBean.class).getOrder();
    }

    private ResultActions call(MockHttpServletRequestBuilder request, String remoteAddress) throws Exception {
        return WebRunners.perform(mvc, request, remoteAddress);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import(AuthenticatedChain.class)
    static class App {


        @Bean
        InMemoryUserDetailsManager users() {
            return new InMemoryUserDetailsManager(User.withUsername("alice").password("{noop}pw").build(),
                    User.withUsername("bob").password("{noop}pw").build(),
                    User.withUsername("carol").password("{noop}pw").build(),
                    User.withUsername("dave").password("{noop}pw").build());
        }

        /** Time stands still: every figure in a header is exact. */
        @Bean
        ManualTicker ticker() {
            return new ManualTicker();
        }

        @RestController
        static class Endpoints {

            @PostMapping("/login")
            String login() {
                return "in";
            }

            @GetMapping("/user/me")
            String me() {
                return "me";
            }

            @GetMapping("/account")
            public String account() {
                return "account";
            }

            @RateLimited(rule = "account")
            @GetMapping("/account/settings")
            public String settings() {
                return "settings";
            }

            @GetMapping("/orders")
            public String orders() {
                return "orders";
            }

            @RateLimited(rule = "orders")
            @GetMapping("/orders/recent")
            public String recent() {
                return "recent";
            }
        }
    }
}
