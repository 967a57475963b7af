package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitExceededException;
import dev.ratelimit.spring.RateLimited;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** Several {@code @RateLimited} calls in one web request, one of whose denials the application catches. */
class RateLimitedInARequestTests {

    public static class Optional {
        @RateLimited(limit = 1, period = "1m")
        public String call() {
            return "extra";
        }
    }

    public static class Essential {
        @RateLimited(limit = 5, period = "1m")
        public String call() {
            return "essential";
        }
    }

    @RestController
    public static class Page {
        private final Optional optional;
        private final Essential essential;

        public Page(Optional optional, Essential essential) {
            this.optional = optional;
            this.essential = essential;
        }

        @GetMapping("/page")
        public String page() {
            String extra;
            try {
                extra = optional.call();
            } catch (RateLimitExceededException e) {
                extra = "none"; // the application goes on without the optional part
            }
            return essential.call() + "+" + extra;
        }
    }

    @Test
    void aCaughtDenialDoesNotDecideALaterCallWhichItsOwnLimitAdmits() {
        WebRunners.runner(Page.class, "ratelimit.tiers.free.limits[0].limit=10", "ratelimit.tiers.free.limits[0].period=1m")
                .withBean(Optional.class).withBean(Essential.class)
                .run(context -> {
                    MockMvc mvc = WebRunners.mvc(context);
                    WebRunners.perform(mvc, get("/page"), "192.0.2.1").andExpect(status().isOk())
                            .andExpect(content().string("essential+extra"));
                    WebRunners.perform(mvc, get("/page"), "192.0.2.1").andExpect(status().isOk())
                            .andExpect(content().string("essential+none"))
                            // the headers tell of the call that was admitted, not of the caught denial
                            .andExpect(header().string("X-RateLimit-Remaining", "3"));
                    RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
                    assertThat(enforcer.peek("Essential.call", "ip:192.0.2.1").values().iterator().next().remaining())
                            .as("one permit per call that ran").isEqualTo(3);
                });
    }
}
