package dev.ratelimit.spring.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.redis.RedisProcess;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.servlet.MockMvc;

/**
 * Open mode (the default) over HTTP with nothing listening on Redis's port from the start: the
 * application starts, and the filter and {@code @RateLimited} admit every request without an error.
 */
@SpringBootTest(classes = RedisClosedModeWebTests.App.class, properties = {
    "ratelimit.store=redis", "ratelimit.redis.key-prefix=unused:",
    "ratelimit.tiers.free.limits[0].limit=2", "ratelimit.tiers.free.limits[0].period=1h",
    "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**", "ratelimit.rules[0].key=ip",
})
@AutoConfigureMockMvc
class RedisOpenModeWebTests {

    @DynamicPropertySource
    static void unreachableRedis(DynamicPropertyRegistry registry) {
        int port = RedisProcess.freePort();
        registry.add("spring.data.redis.url", () -> "redis://127.0.0.1:" + port);
    }

    @Autowired
    private MockMvc mvc;

    @Test
    void startsAndAdmitsEveryRequestWhileRedisIsDown() throws Exception {
        for (int i = 0; i < 4; i++) {
            mvc.perform(get("/api/items")).andExpect(status().isOk());
            mvc.perform(get("/annotated")).andExpect(status().isOk());
        }
        assertThat(mvc.perform(get("/api/items")).andReturn().getResponse().getHeader("X-RateLimit-Limit"))
                .as("the figures of a fresh key").isEqualTo("2");
    }
}
