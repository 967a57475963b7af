package dev.ratelimit.spring.web;

import static dev.ratelimit.spring.web.WebRunners.mvc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.head;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.core.Decision;
import dev.ratelimit.core.ForwardingRateLimiter;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.core.Ticker;
import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimiterFactory;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.context.assertj.AssertableWebApplicationContext;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;
import org.springframework.test.web.servlet.request.MockHttpServletRequestBuilder;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.bind.annotation.RestController;

/**
 * Each {@code ratelimit.headers} format, the unknown-API-key policies, and the bound on tracked keys.
 * One tier of 2 per 10 s (a token every 5 s) for every path.
 */
@ExtendWith(OutputCaptureExtension.class)
class ResponseFormatTests {

    private final WebApplicationContextRunner runner = WebRunners.runner(Endpoint.class,
            "ratelimit.tiers.free.limits[0].limit=2", "ratelimit.tiers.free.limits[0].period=10s",
            "ratelimit.api-keys.known=free", "ratelimit.rules[0].name=all", "ratelimit.rules[0].key=api-key");

    @Test
    void ietfWritesOnlyTheDraftHeaders() {
        runner.withPropertyValues("ratelimit.headers=ietf").run(context -> {
            MockMvc mvc = mvc(context);
            call(mvc, get("/x")).andExpect(status().isOk())
                    .andExpect(header().string("RateLimit-Policy", "\"free\";q=2;w=10"))
                    .andExpect(header().string("RateLimit", "\"free\";r=1;t=5"))
                    .andExpect(header().doesNotExist("X-RateLimit-Limit"));
            call(mvc, get("/x"));
            call(mvc, get("/x")).andExpect(status().isTooManyRequests())
                    .andExpect(header().string("RateLimit", "\"free\";r=0;t=10"))
                    .andExpect(header().string("Retry-After", "5"))
                    .andExpect(header().doesNotExist("X-RateLimit-Remaining"));
        });
    }

    @Test
    void legacyWritesOnlyTheXHeaders() {
        runner.withPropertyValues("ratelimit.headers=legacy").run(context -> {
            MockMvc mvc = mvc(context);
            call(mvc, get("/x")).andExpect(status().isOk())
                    .andExpect(header().string("X-RateLimit-Limit", "2"))
                    .andExpect(header().string("X-RateLimit-Remaining", "1"))
                    .andExpect(header().string("X-RateLimit-Reset", "5"))
                    .andExpect(header().doesNotExist("RateLimit")).andExpect(header().doesNotExist("RateLimit-Policy"));
            ((ManualTicker) context.getBean(Ticker.class)).advance(Duration.ofMillis(2_500));
            call(mvc, get("/x")).andExpect(header().string("X-RateLimit-Remaining", "0"))
                    .andExpect(header().string("X-RateLimit-Reset", "8")); // 7.5 s, rounded up
            call(mvc, get("/x")).andExpect(status().isTooManyRequests())
                    .andExpect(header().string("Retry-After", "3")); // 2.5 s, rounded up
        });
    }

    @Test
    void noneStillTellsADeniedClientWhenToRetry() {
        runner.withPropertyValues("ratelimit.headers=none").run(context -> {
            MockMvc mvc = mvc(context);
            call(mvc, get("/x")).andExpect(status().isOk()).andExpect(header().doesNotExist("RateLimit"))
                    .andExpect(header().doesNotExist("X-RateLimit-Limit"));
            call(mvc, get("/x"));
            call(mvc, get("/x")).andExpect(status().isTooManyRequests()).andExpect(header().string("Retry-After", "5"))
                    .andExpect(header().doesNotExist("RateLimit")).andExpect(header().doesNotExist("X-RateLimit-Limit"))
                    .andExpect(content().contentType(MediaType.APPLICATION_PROBLEM_JSON));
        });
    }

    @Test
    void retryAfterIsAtLeastOneSecondAndSubSecondWindowsScaleExactly() {
        runner.withPropertyValues("ratelimit.tiers.free.limits[0].limit=5", "ratelimit.tiers.free.limits[0].period=200ms")
                .run(context -> {
                    MockMvc mvc = mvc(context);
                    for (int i = 0; i < 5; i++) {
                        call(mvc, get("/x")).andExpect(status().isOk())
                                .andExpect(header().string("RateLimit-Policy", "\"free\";q=25;w=1"));
                    }
                    call(mvc, get("/x")).andExpect(status().isTooManyRequests())
                            .andExpect(header().string("Retry-After", "1")); // 40 ms
                });
    }

    /**
     * 4 a minute and 4 an hour, both with a capacity of 4: the decision's limit (4) fits both, and
     * the hour's, which refills more slowly, is the one with fewer permits left. Once with one rule,
     * once with two, which format the header apart.
     */
    @Test
    void ofTwoLimitsWithOneCapacityTheSlowerIsNamedAsBinding() {
        WebApplicationContextRunner sharedCapacity = runner.withPropertyValues(
                "ratelimit.tiers.free.limits[0].limit=4", "ratelimit.tiers.free.limits[0].period=1m",
                "ratelimit.tiers.free.limits[1].limit=4", "ratelimit.tiers.free.limits[1].period=1h");
        sharedCapacity.run(context -> threeThenOneAfter15Seconds(context)
                .andExpect(header().string("RateLimit", "\"free-2\";r=0;t=3585")));
        sharedCapacity.withPropertyValues("ratelimit.rules[1].name=second", "ratelimit.rules[1].key=api-key")
                .run(context -> threeThenOneAfter15Seconds(context)
                        .andExpect(header().string("RateLimit", "\"free-2\";r=0;t=3585, \"second-free-2\";r=0;t=3585"))
                        .andExpect(header().string("X-RateLimit-Limit", "4")));
    }

    /** After it, the minute's limit has 2 permits again, the hour's 1 and 1/60; then one more request. */
    private static ResultActions threeThenOneAfter15Seconds(AssertableWebApplicationContext context) throws Exception {
        MockMvc mvc = mvc(context);
        for (int i = 0; i < 3; i++) {
            call(mvc, get("/x")).andExpect(status().isOk());
        }
        ((ManualTicker) context.getBean(Ticker.class)).advance(Duration.ofSeconds(15));
        return call(mvc, get("/x")).andExpect(status().isOk());
    }

    /** A period of no whole seconds: the shortest whole-second window at the same rate, else rounded up. */
    @ParameterizedTest(name = "{0} per {1}")
    @CsvSource({
        "1, 300ms, q=10;w=3",
        "3, 1500ms, q=2;w=1",
        "7, 1001ms, q=1000;w=143",
        "2, 90s, q=2;w=90",
        "1, 1000000001ns, q=1;w=2",
    })
    void aWindowOfNoWholeSecondsIsStatedAtTheLimitsOwnRate(long limit, String period, String quota) {
        runner.withPropertyValues("ratelimit.tiers.free.limits[0].limit=" + limit,
                "ratelimit.tiers.free.limits[0].period=" + period).run(context ->
                call(mvc(context), get("/x")).andExpect(header().string("RateLimit-Policy", "\"free\";" + quota)));
    }

    @Test
    void aGetRuleAlsoCountsHeadWhichSpringMvcServesWithTheGetHandler() {
        runner.withPropertyValues("ratelimit.rules[0].methods=GET").run(context -> {
            MockMvc mvc = mvc(context);
            call(mvc, head("/x")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "1"));
            call(mvc, head("/x")).andExpect(status().isOk());
            call(mvc, get("/x")).andExpect(status().isTooManyRequests());
            call(mvc, post("/x")).andExpect(status().isOk()).andExpect(header().doesNotExist("RateLimit"));
        });
    }

    @Test
    void unknownApiKeyCanBeRejectedWith401() {
        runner.withPropertyValues("ratelimit.unknown-api-key=reject").run(context -> {
            MockMvc mvc = mvc(context);
            call(mvc, get("/x").header("X-API-Key", "guess")).andExpect(status().isUnauthorized())
                    .andExpect(header().string("WWW-Authenticate", "ApiKey header=\"X-API-Key\""))
                    .andExpect(content().json("""
                            {"type":"about:blank","title":"Unauthorized","status":401,
                             "detail":"Unknown API key in header X-API-Key.","instance":"/x"}""", true));
            call(mvc, get("/x").header("X-API-Key", "known")).andExpect(status().isOk());
            call(mvc, get("/x")).andExpect(status().isOk());
        });
    }

    @Test
    void inShadowModeAnUnknownApiKeyIsLetThroughAndReportedNotRejected(CapturedOutput output) {
        LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());
        logging.setLogLevel(RateLimitEnforcer.class.getName(), LogLevel.DEBUG);
        try {
            runner.withPropertyValues("ratelimit.unknown-api-key=reject", "ratelimit.shadow=true").run(context -> {
                MockMvc mvc = mvc(context);
                // Limited as if no key was sent, as ratelimit.unknown-api-key=ip would: the address's bucket.
                call(mvc, get("/x").header("X-API-Key", "guess")).andExpect(status().isOk())
                        .andExpect(header().string("X-RateLimit-Remaining", "1"));
                call(mvc, get("/x")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "0"));
            });
        } finally {
            logging.setLogLevel(RateLimitEnforcer.class.getName(), null);
        }
        assertThat(output.getOut().lines().filter(line -> line.contains(
                "Shadow mode, would reject unknown API key in header X-API-Key rule=all key=key:[sha256:")))
                .hasSize(1);
    }

    @Test
    void aRuleThatOptsOutOfShadowModeStillRejectsAnUnknownApiKey() {
        runner.withPropertyValues("ratelimit.unknown-api-key=reject", "ratelimit.shadow=true",
                "ratelimit.rules[0].shadow=false").run(context -> call(mvc(context), get("/x").header("X-API-Key", "guess"))
                        .andExpect(status().isUnauthorized()));
    }

    /**
     * A refused key is a guess, and guessing keys is what a limit must slow down: each 401 is counted
     * as a request without a key (the client's address), and once that bucket is empty the guesses
     * get 429 instead. The 401 was written before any rule was applied, so a client could try keys
     * as fast as the server answered.
     */
    @Test
    void rejectedApiKeysAreCountedAgainstTheClientsAddress() {
        runner.withPropertyValues("ratelimit.unknown-api-key=reject").run(context -> {
            MockMvc mvc = mvc(context);
            call(mvc, get("/x").header("X-API-Key", "guess-1")).andExpect(status().isUnauthorized())
                    .andExpect(header().string("X-RateLimit-Remaining", "1"));
            call(mvc, get("/x").header("X-API-Key", "guess-2")).andExpect(status().isUnauthorized());
            call(mvc, get("/x").header("X-API-Key", "guess-3")).andExpect(status().isTooManyRequests());
            call(mvc, get("/x")).andExpect(status().isTooManyRequests());
            call(mvc, get("/x").header("X-API-Key", "known")).andExpect(status().isOk());
        });
    }

    @Test
    void aFloodOfUnknownApiKeysTracksOneKey() {
        Set<String> tracked = ConcurrentHashMap.newKeySet();
        RateLimiterFactory recording = (name, policy) -> recording(RateLimiter.builder().limits(policy.limits()).build(), tracked);
        runner.withBean(RateLimiterFactory.class, () -> recording).run(context -> {
            MockMvc mvc = mvc(context);
            long seed = System.nanoTime();
            Random random = new Random(seed);
            for (int i = 0; i < 500; i++) {
                call(mvc, get("/x").header("X-API-Key", Long.toHexString(random.nextLong())));
            }
            assertThat(tracked).as("keys tracked after 500 random API keys (seed %d)", seed).containsExactly("ip:127.0.0.1");
        });
    }

    private static RateLimiter recording(RateLimiter limiter, Set<String> keys) {
        return new ForwardingRateLimiter(limiter) {
            @Override
            public Decision tryAcquire(String key, long permits) {
                keys.add(key);
                return super.tryAcquire(key, permits);
            }

            @Override
            public Decision acquire(String key, long permits, Duration maxWait) throws InterruptedException {
                keys.add(key);
                return super.acquire(key, permits, maxWait);
            }
        };
    }

    private static ResultActions call(MockMvc mvc, MockHttpServletRequestBuilder request) throws Exception {
        return mvc.perform(request);
    }

    @RestController
    static class Endpoint {

        @RequestMapping(path = "/x", method = {RequestMethod.GET, RequestMethod.POST})
        String x() {
            return "ok";
        }
    }
}
