package dev.ratelimit.spring.web;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.context.annotation.Import;
import org.springframework.test.web.servlet.MockMvc;

/**
 * The documented way to put an IP rule in front of authentication: with {@code filter-order: -110}
 * the limiter runs before Spring Security's chain, so failed logins are counted and then refused
 * with 429 before any credentials are checked.
 */
@SpringBootTest(classes = FilterBeforeSecurityTests.App.class, properties = {
    "ratelimit.filter-order=-110",
    "ratelimit.tiers.free.limits[0].limit=3", "ratelimit.tiers.free.limits[0].period=1m",
    "ratelimit.rules[0].name=login", "ratelimit.rules[0].paths=/login", "ratelimit.rules[0].methods=POST",
    "ratelimit.rules[0].key=ip",
})
@AutoConfigureMockMvc
class FilterBeforeSecurityTests {

    @Autowired
    private MockMvc mvc;

    @Test
    void ipRuleStopsUnauthenticatedRequestsBeforeSecurityRejectsThem() throws Exception {
        for (int i = 0; i < 3; i++) {
            mvc.perform(post("/login")).andExpect(status().isUnauthorized());
        }
        mvc.perform(post("/login")).andExpect(status().isTooManyRequests());
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import(AuthenticatedChain.class)
    static class App {
    }
}
