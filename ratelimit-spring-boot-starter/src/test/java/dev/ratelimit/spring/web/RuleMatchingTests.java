package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.head;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.options;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitResult;
import dev.ratelimit.spring.RuleDecision;
import jakarta.servlet.DispatcherType;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.filter.UrlHandlerFilter;

/**
 * Which requests a rule's paths cover, end to end through Spring MVC: the plain-path shapes the filter
 * matches as strings ({@code /x}, {@code /api/**}) must cover every form of a path that reaches the
 * same handler, as the patterns Spring parses do. One tier of 2 per 10 s.
 */
class RuleMatchingTests {

    private final WebApplicationContextRunner runner = WebRunners.runner(Endpoint.class,
            "ratelimit.tiers.free.limits[0].limit=2", "ratelimit.tiers.free.limits[0].period=10s",
            "ratelimit.rules[0].name=x", "ratelimit.rules[0].key=ip");

    @Test
    void aLiteralPathAlsoCoversItsEncodedAndParameterisedForms() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get(URI.create("/x;jsessionid=1"))).andExpect(status().isOk()).andExpect(content().string("x"))
                    .andExpect(header().string("X-RateLimit-Remaining", "1"));
            mvc.perform(get(URI.create("/%78"))).andExpect(status().isOk()).andExpect(content().string("x"))
                    .andExpect(header().string("X-RateLimit-Remaining", "0"));
            mvc.perform(get("/x")).andExpect(status().isTooManyRequests());
            mvc.perform(get("/X")).andExpect(header().doesNotExist("RateLimit"));
        });
    }

    @Test
    void aPrefixPatternCoversThePrefixAndBelowButNotALongerName() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/api/**").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get("/apix")).andExpect(header().doesNotExist("RateLimit"));
            mvc.perform(get("/api")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "1"));
            mvc.perform(get("/api/a/b")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "0"));
            mvc.perform(get(URI.create("/ap%69/a"))).andExpect(status().isTooManyRequests());
            mvc.perform(get(URI.create("/api;v=1/a"))).andExpect(status().isTooManyRequests());
        });
    }

    @Test
    void rulesMatchThePathWithinTheApplication() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get("/app/x").contextPath("/app")).andExpect(status().isOk())
                    .andExpect(header().string("X-RateLimit-Remaining", "1"));
            mvc.perform(get("/app/x").contextPath("/app")).andExpect(status().isOk());
            mvc.perform(get("/app/x").contextPath("/app")).andExpect(status().isTooManyRequests());
            mvc.perform(get("/x/api").contextPath("/x")).andExpect(status().isOk()).andExpect(content().string("api"))
                    .andExpect(header().doesNotExist("RateLimit"));
        });
    }

    /**
     * Spring's {@code UrlHandlerFilter}, registered as a plain filter bean, runs after this one and
     * routes {@code /x/} to {@code /x}: a rule that left the slashed form alone would be bypassed by
     * adding a slash.
     */
    @ParameterizedTest(name = "rule {0}")
    @CsvSource({"/x", "/{name}", "/x/**"})
    void aRuleCoversThePathWithATrailingSlashThatUrlHandlerFilterCuts(String pattern) {
        runner.withPropertyValues("ratelimit.rules[0].paths=" + pattern).run(context -> {
            assertThat(context).hasNotFailed();
            MockMvc mvc = MockMvcBuilders.webAppContextSetup(context)
                    .addFilters(context.getBean(RateLimitFilter.class),
                            UrlHandlerFilter.trailingSlashHandler("/**").wrapRequest().build())
                    .build();
            mvc.perform(get("/x/")).andExpect(status().isOk()).andExpect(content().string("x"))
                    .andExpect(header().string("X-RateLimit-Remaining", "1"));
            mvc.perform(get(URI.create("/%78/"))).andExpect(status().isOk()).andExpect(content().string("x"))
                    .andExpect(header().string("X-RateLimit-Remaining", "0"));
            mvc.perform(get("/x/")).andExpect(status().isTooManyRequests());
            mvc.perform(get("/x")).andExpect(status().isTooManyRequests());
        });
    }

    @Test
    void anExclusionLeavesOutATrailingSlashOnlyIfItMatchesBothForms() {
        runner.withPropertyValues("ratelimit.exclude-paths=/x/,/api/**").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get("/api/a/")).andExpect(header().doesNotExist("RateLimit"));
            mvc.perform(get("/x")).andExpect(header().exists("RateLimit"));
            mvc.perform(get("/x/")).andExpect(header().exists("RateLimit"));
        });
    }

    @Test
    void excludedPathsAreExcludedInEveryForm() {
        runner.withPropertyValues("ratelimit.exclude-paths=/x,/api/**").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            for (String path : new String[] {"/x", "/%78", "/x;a=b", "/api", "/api/a", "/ap%69/a"}) {
                for (int i = 0; i < 3; i++) {
                    mvc.perform(get(URI.create(path))).andExpect(status().isOk()).andExpect(header().doesNotExist("RateLimit"));
                }
            }
            mvc.perform(get("/apix")).andExpect(header().exists("RateLimit"));
        });
    }

    @Test
    void twoMatchingRulesBothCountAndBothReport() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x", "ratelimit.rules[1].name=all",
                "ratelimit.rules[1].key=ip").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get("/api/a")).andExpect(status().isOk()).andExpect(header().string("RateLimit", "\"free\";r=1;t=5"));
            mvc.perform(get("/x")).andExpect(status().isOk())
                    .andExpect(header().string("RateLimit-Policy", "\"free\";q=2;w=10, \"all-free\";q=2;w=10"))
                    .andExpect(header().string("RateLimit", "\"free\";r=1;t=5, \"all-free\";r=0;t=10"))
                    .andExpect(header().string("X-RateLimit-Remaining", "0"));
            // The denying rule is consulted first and alone, so its policy is reported under its plain name.
            mvc.perform(get("/x")).andExpect(status().isTooManyRequests()).andExpect(header().string("Retry-After", "5"))
                    .andExpect(header().string("RateLimit", "\"free\";r=0;t=10"));
        });
    }

    /** Registered twice (say also in a Spring Security chain), the filter still takes one permit per request. */
    @Test
    void aRequestIsCountedOnceHoweverOftenItPassesTheFilter() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x").run(context -> {
            RateLimitFilter filter = context.getBean(RateLimitFilter.class);
            MockHttpServletRequest request = new MockHttpServletRequest("GET", "/x");
            MockHttpServletResponse response = new MockHttpServletResponse();
            boolean[] reached = new boolean[1];
            filter.doFilter(request, response, (again, sameResponse) -> filter.doFilter(again, sameResponse,
                    (last, lastResponse) -> reached[0] = true));
            assertThat(reached[0]).isTrue();
            assertThat(response.getHeaders("X-RateLimit-Remaining")).containsExactly("1");
            assertThat(response.getHeaders("RateLimit")).containsExactly("\"free\";r=1;t=5");

            MockHttpServletResponse next = new MockHttpServletResponse();
            filter.doFilter(new MockHttpServletRequest("GET", "/x"), next, (last, lastResponse) -> {
            });
            assertThat(next.getHeader("X-RateLimit-Remaining")).isEqualTo("0");
        });
    }

    /**
     * A {@code @RateLimited} call under rule x that ran before the filter (in a servlet filter of
     * the application's, say) has decided x for the request; the filter must not take x again, nor
     * skip its other rule.
     */
    @Test
    void aRuleAnAnnotatedCallDecidedFirstIsSkippedButTheOthersAreNot() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x", "ratelimit.rules[1].name=all",
                "ratelimit.rules[1].key=ip").run(context -> {
            RateLimitFilter filter = context.getBean(RateLimitFilter.class);
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            MockHttpServletRequest request = new MockHttpServletRequest("GET", "/x");
            request.setAttribute(RateLimitResult.REQUEST_ATTRIBUTE,
                    enforcer.enforce(List.of(new RateLimitEnforcer.Check("x", "free", "ip:127.0.0.1", 1))));
            boolean[] reached = new boolean[1];
            filter.doFilter(request, new MockHttpServletResponse(), (last, lastResponse) -> reached[0] = true);

            assertThat(reached[0]).isTrue();
            assertThat(enforcer.peek("x", "ip:127.0.0.1").get("free").remaining()).isEqualTo(1);
            assertThat(enforcer.peek("all", "ip:127.0.0.1").get("free").remaining()).isEqualTo(1);
            assertThat(((RateLimitResult) request.getAttribute(RateLimitResult.REQUEST_ATTRIBUTE)).decisions())
                    .extracting(RuleDecision::rule).containsExactly("x", "all");
        });
    }

    /**
     * A {@code @RateLimited(rule = "x", key = "#username")} call that ran first (in a Spring Security
     * {@code UserDetailsService}, say, before the filter) spent the permits of x's bucket for that
     * user, not of the bucket the filter counts the client in. It stands in for the filter's
     * decision only under the same key: else a client naming another user on each request would
     * never be counted by address at all.
     */
    @Test
    void aRuleAnAnnotatedCallDecidedFirstUnderAnotherKeyIsStillApplied() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x").run(context -> {
            RateLimitFilter filter = context.getBean(RateLimitFilter.class);
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            for (String user : new String[] {"alice", "bob", "carol"}) {
                MockHttpServletRequest request = new MockHttpServletRequest("GET", "/x");
                request.setAttribute(RateLimitResult.REQUEST_ATTRIBUTE,
                        enforcer.enforce(List.of(new RateLimitEnforcer.Check("x", "free", "expr:" + user, 1))));
                filter.doFilter(request, new MockHttpServletResponse(), (last, lastResponse) -> {
                });
            }
            assertThat(enforcer.peek("x", "ip:127.0.0.1").get("free").remaining()).isZero();
            MockHttpServletRequest fourth = new MockHttpServletRequest("GET", "/x");
            fourth.setAttribute(RateLimitResult.REQUEST_ATTRIBUTE,
                    enforcer.enforce(List.of(new RateLimitEnforcer.Check("x", "free", "expr:dave", 1))));
            MockHttpServletResponse response = new MockHttpServletResponse();
            filter.doFilter(fourth, response, (last, lastResponse) -> {
            });
            assertThat(response.getStatus()).isEqualTo(429);
        });
    }

    /**
     * A {@code @RateLimited} call under rule x that ran first and was denied took nothing, and the
     * application caught its exception and went on. That denial no longer decides the request (it is
     * dropped from the result), so it cannot stand in for x's admission either: the filter must still
     * apply x, or every request whose early call is refused would pass x's paths unlimited.
     */
    @Test
    void aRuleAnAnnotatedCallDeniedFirstIsStillAppliedByTheFilter() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x").run(context -> {
            RateLimitFilter filter = context.getBean(RateLimitFilter.class);
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            enforcer.enforce(List.of(new RateLimitEnforcer.Check("x", "free", "ip:127.0.0.1", 2)));
            MockHttpServletRequest request = new MockHttpServletRequest("GET", "/x");
            RateLimitResult denied = enforcer.enforce(List.of(new RateLimitEnforcer.Check("x", "free", "ip:127.0.0.1", 1)));
            assertThat(denied.allowed()).isFalse();
            request.setAttribute(RateLimitResult.REQUEST_ATTRIBUTE, denied);
            MockHttpServletResponse response = new MockHttpServletResponse();
            boolean[] reached = new boolean[1];
            filter.doFilter(request, response, (last, lastResponse) -> reached[0] = true);

            assertThat(reached[0]).as("the handler behind rule x was reached").isFalse();
            assertThat(response.getStatus()).isEqualTo(429);
        });
    }

    /** Only the request itself is limited: not the error page, forward or async dispatch that follows it. */
    @ParameterizedTest
    @EnumSource(value = DispatcherType.class, names = {"ERROR", "FORWARD", "INCLUDE", "ASYNC"})
    void laterDispatchesOfARequestPassUnlimited(DispatcherType dispatch) {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x").run(context -> {
            RateLimitFilter filter = context.getBean(RateLimitFilter.class);
            for (int i = 0; i < 5; i++) {
                MockHttpServletRequest request = new MockHttpServletRequest("GET", "/x");
                request.setDispatcherType(dispatch);
                MockHttpServletResponse response = new MockHttpServletResponse();
                boolean[] reached = new boolean[1];
                filter.doFilter(request, response, (last, lastResponse) -> reached[0] = true);
                assertThat(reached[0]).as("%s dispatch %d", dispatch, i).isTrue();
                assertThat(response.getHeader("X-RateLimit-Remaining")).isNull();
            }
            MockHttpServletResponse response = new MockHttpServletResponse();
            filter.doFilter(new MockHttpServletRequest("GET", "/x"), response, (last, lastResponse) -> {
            });
            assertThat(response.getHeader("X-RateLimit-Remaining")).as("nothing was taken").isEqualTo("1");
        });
    }

    /** A pattern without its leading slash parses, but matches no path at all: refused, not ignored. */
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"ratelimit.rules[0].paths, x", "ratelimit.rules[0].paths, api/**", "ratelimit.exclude-paths, x",
        "ratelimit.rules[0].paths, ''"})
    void aPatternWithoutLeadingSlashStopsStartup(String property, String pattern) {
        runner.withPropertyValues(property + "[0]=" + pattern).run(context -> assertThat(context).getFailure()
                .rootCause().hasMessage("Property " + property + "[0] with value '" + pattern + "' is invalid: must"
                        + " start with /, as paths are matched within the application, such as /api/**"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"GTE", "GETS", "CONNECT", "''"})
    void anUnknownMethodStopsStartup(String method) {
        runner.withPropertyValues("ratelimit.rules[0].methods[0]=GET", "ratelimit.rules[0].methods[1]=" + method)
                .run(context -> assertThat(context).getFailure().rootCause().hasMessage(
                        "Property ratelimit.rules[0].methods[1] with value '" + method + "' is invalid: must be one of"
                                + " GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE"));
    }

    @Test
    void methodsAreMatchedWhateverTheirCase() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x", "ratelimit.rules[0].methods=get,Post").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get("/x")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "1"));
            mvc.perform(head("/x")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "0"));
            mvc.perform(options("/x")).andExpect(header().doesNotExist("RateLimit"));
        });
    }

    @Test
    void aCorsPreflightIsCountedOnlyByARuleThatNamesOptions() {
        runner.withPropertyValues("ratelimit.rules[0].paths=/x").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            for (int i = 0; i < 3; i++) {
                mvc.perform(options("/x").header("Origin", "https://app.example")
                        .header("Access-Control-Request-Method", "GET")).andExpect(header().doesNotExist("RateLimit"));
            }
            mvc.perform(get("/x").header("Origin", "https://app.example")).andExpect(status().isOk())
                    .andExpect(header().string("X-RateLimit-Remaining", "1"));
            // A plain OPTIONS, without the preflight's headers, is a request like any other.
            mvc.perform(options("/x")).andExpect(header().string("X-RateLimit-Remaining", "0"));
        });
        runner.withPropertyValues("ratelimit.rules[0].paths=/x", "ratelimit.rules[0].methods=OPTIONS").run(context ->
                WebRunners.mvc(context).perform(options("/x").header("Origin", "https://app.example")
                        .header("Access-Control-Request-Method", "GET"))
                        .andExpect(header().string("X-RateLimit-Remaining", "1")));
    }

    @RestController
    static class Endpoint {

        @GetMapping("/x")
        String x() {
            return "x";
        }

        @GetMapping({"/api", "/api/**"})
        String api() {
            return "api";
        }
    }
}
