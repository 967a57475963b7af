package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimited;
import org.junit.jupiter.api.Test;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.web.bind.WebDataBinder;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.InitBinder;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code @RateLimited} on a controller class limits the calls clients make: its handler methods.
 * Spring MVC calls the controller's public {@code @InitBinder}, {@code @ModelAttribute} and
 * {@code @ExceptionHandler} methods on its own, as often as it needs (a binder per argument), so
 * counting them would take permits a request never asked for.
 */
class ControllerCallbacksTests {

    @RestController
    @RateLimited(rule = "api")
    public static class SharedRule {

        @GetMapping("/items")
        public String items(@RequestParam String q, @RequestParam int page) {
            return q + page;
        }

        @GetMapping("/fail")
        public String fail() {
            throw new IllegalStateException("boom");
        }

        @InitBinder
        public void initBinder(WebDataBinder binder) {
        }

        @ModelAttribute
        public void common() {
        }

        @ExceptionHandler(IllegalStateException.class)
        public String failed(IllegalStateException e) {
            return "failed";
        }
    }

    @RestController
    @RateLimited(limit = 3, period = "1m")
    public static class OwnRules {

        @GetMapping("/own")
        public String own(@RequestParam String q, @RequestParam int page) {
            return q + page;
        }

        @InitBinder
        public void initBinder(WebDataBinder binder) {
        }

        @ModelAttribute
        public void common() {
        }
    }

    @Test
    void aRequestTakesOnePermitOfTheClassesRuleWhateverCallbacksItMeets() {
        WebRunners.runner(SharedRule.class, "ratelimit.tiers.free.limits[0].limit=10",
                "ratelimit.tiers.free.limits[0].period=1m", "ratelimit.rules[0].name=api",
                "ratelimit.rules[0].paths=/none").run(context -> {
                    MockMvc mvc = WebRunners.mvc(context);
                    WebRunners.perform(mvc, get("/items?q=a&page=1"), "192.0.2.1").andExpect(status().isOk())
                            .andExpect(content().string("a1"));
                    WebRunners.perform(mvc, get("/fail"), "192.0.2.1").andExpect(status().isOk())
                            .andExpect(content().string("failed"));
                    RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
                    assertThat(enforcer.peek("api", "ip:192.0.2.1").get("free").remaining())
                            .as("one permit per request").isEqualTo(8);
                });
    }

    @Test
    void callbacksGetNoRuleOfTheirOwnThatCouldRefuseTheRequest() {
        WebRunners.runner(OwnRules.class, "ratelimit.tiers.free.limits[0].limit=10",
                "ratelimit.tiers.free.limits[0].period=1m").run(context -> {
                    MockMvc mvc = WebRunners.mvc(context);
                    for (int i = 0; i < 3; i++) {
                        WebRunners.perform(mvc, get("/own?q=a&page=" + i), "192.0.2.2").andExpect(status().isOk());
                    }
                    WebRunners.perform(mvc, get("/own?q=a&page=4"), "192.0.2.2").andExpect(status().isTooManyRequests());
                    assertThat(context.getBean(RateLimitEnforcer.class).rules())
                            .extracting(RateLimitEnforcer.RuleView::name).containsExactly("OwnRules.own");
                });
    }
}
