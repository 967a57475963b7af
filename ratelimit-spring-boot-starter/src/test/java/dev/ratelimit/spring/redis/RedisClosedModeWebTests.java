package dev.ratelimit.spring.redis;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.redis.RedisProcess;
import dev.ratelimit.redis.TestRedis;
import dev.ratelimit.spring.RateLimited;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.context.annotation.Bean;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.json.JsonCompareMode;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Closed mode over HTTP: while Redis answers, requests are limited as usual; once the test's own
 * {@code redis-server} is killed, the filter and a {@code @RateLimited} handler both answer 503
 * with the IANA problem type, never 429 or 500, even behind a catch-all exception handler; so does
 * the early filter, which runs before the main one.
 */
@SpringBootTest(classes = RedisClosedModeWebTests.App.class, properties = {
    "ratelimit.store=redis", "ratelimit.redis.failure-mode=closed", "ratelimit.redis.circuit-breaker-wait=1500ms",
    "ratelimit.tiers.free.limits[0].limit=2", "ratelimit.tiers.free.limits[0].period=1h",
    "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**", "ratelimit.rules[0].key=ip",
    "ratelimit.rules[1].name=login", "ratelimit.rules[1].paths=/login", "ratelimit.rules[1].key=ip",
    "ratelimit.rules[1].early=true",
})
@AutoConfigureMockMvc
class RedisClosedModeWebTests {

    private static final RedisProcess REDIS = new RedisProcess();

    @DynamicPropertySource
    static void redis(DynamicPropertyRegistry registry) {
        registry.add("spring.data.redis.url", REDIS::uri);
        registry.add("ratelimit.redis.key-prefix", TestRedis::prefix);
    }

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @Autowired
    private MockMvc mvc;

    static final String PROBLEM = "{\"type\":\"https://iana.org/assignments/http-problem-types#temporary-reduced-capacity\","
            + "\"title\":\"Service Unavailable\",\"status\":503,"
            + "\"detail\":\"Rate limits cannot be checked right now; retry later.\",\"instance\":\"%s\"}";

    @Test
    void limitsWhileRedisAnswersThen503FromTheFilterAndTheAnnotationOnceItIsGone() throws Exception {
        mvc.perform(get("/api/items").with(r -> ip(r, "192.0.2.1"))).andExpect(status().isOk());
        mvc.perform(get("/api/items").with(r -> ip(r, "192.0.2.1"))).andExpect(status().isOk());
        mvc.perform(get("/api/items").with(r -> ip(r, "192.0.2.1"))).andExpect(status().isTooManyRequests());
        mvc.perform(get("/annotated").with(r -> ip(r, "192.0.2.1"))).andExpect(status().isOk());
        mvc.perform(get("/login").with(r -> ip(r, "192.0.2.1"))).andExpect(status().isOk())
                .andExpect(header().string("X-RateLimit-Remaining", "1"));

        REDIS.kill();
        for (String path : new String[] {"/api/items", "/annotated", "/login"}) {
            for (int i = 0; i < 2; i++) { // the first waits for the timeout, the second meets the open breaker
                mvc.perform(get(path).with(r -> ip(r, "192.0.2.9")))
                        .andExpect(status().isServiceUnavailable())
                        .andExpect(header().string("Retry-After", "2"))
                        .andExpect(content().contentType(MediaType.APPLICATION_PROBLEM_JSON))
                        .andExpect(content().json(PROBLEM.formatted(path), JsonCompareMode.STRICT));
            }
        }
    }

    private static MockHttpServletRequest ip(MockHttpServletRequest request, String address) {
        request.setRemoteAddr(address);
        return request;
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

        @Bean
        SecurityFilterChain openChain(HttpSecurity http) throws Exception {
            return http.authorizeHttpRequests(a -> a.anyRequest().permitAll()).build();
        }

        @Bean
        Controller controller() {
            return new Controller();
        }

        @Bean
        CatchAll catchAll() {
            return new CatchAll();
        }
    }

    @RestController
    static class Controller {

        @GetMapping("/api/items")
        public String items() {
            return "items";
        }

        @GetMapping("/login")
        public String login() {
            return "login";
        }

        @GetMapping("/annotated")
        @RateLimited(limit = 5, period = "1h")
        public String annotated() {
            return "annotated";
        }
    }

    /** A catch-all handler must not turn the 503 into a 500. */
    @RestControllerAdvice
    static class CatchAll {

        @ExceptionHandler(Exception.class)
        public ResponseEntity<String> any(Exception e) {
            return ResponseEntity.internalServerError().body("caught " + e);
        }
    }
}
