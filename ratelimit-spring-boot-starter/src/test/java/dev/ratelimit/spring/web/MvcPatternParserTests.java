package dev.ratelimit.spring.web;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.config.annotation.PathMatchConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * An application may give Spring MVC a pattern parser of its own ({@code configurePathMatch}), one
 * that ignores case, say: then {@code /API/items} reaches the {@code /api/items} handler, and a rule
 * on {@code /api/**}, or an exclusion, must read its patterns the same way. One permit per hour.
 */
class MvcPatternParserTests {

    private final WebApplicationContextRunner runner = WebRunners.runner(Endpoint.class,
            "ratelimit.tiers.free.limits[0].limit=1", "ratelimit.tiers.free.limits[0].period=1h",
            "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**", "ratelimit.rules[0].key=ip",
            "ratelimit.rules[1].name=login", "ratelimit.rules[1].paths=/login", "ratelimit.rules[1].key=ip")
            .withBean(CaseInsensitive.class);

    @Test
    void aRuleMatchesEveryPathTheApplicationsParserRoutesToTheHandler() {
        runner.run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get("/api/items")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "0"));
            mvc.perform(get("/API/items")).andExpect(status().isTooManyRequests());
            mvc.perform(get("/Api/Items")).andExpect(status().isTooManyRequests());
            mvc.perform(get("/LOGIN")).andExpect(status().isOk()).andExpect(content().string("login"))
                    .andExpect(header().string("X-RateLimit-Remaining", "0"));
            mvc.perform(get("/login")).andExpect(status().isTooManyRequests());
        });
    }

    @Test
    void anExclusionIsReadByTheApplicationsParserToo() {
        runner.withPropertyValues("ratelimit.exclude-paths=/api/open").run(context -> {
            MockMvc mvc = WebRunners.mvc(context);
            mvc.perform(get("/api/OPEN")).andExpect(status().isOk()).andExpect(header().doesNotExist("RateLimit"));
            mvc.perform(get("/api/open")).andExpect(status().isOk()).andExpect(header().doesNotExist("RateLimit"));
        });
    }

    @Test
    void theEarlyFilterReadsItsPathsWithTheApplicationsParserToo() {
        runner.withPropertyValues("ratelimit.rules[1].early=true").run(context -> {
            RateLimitFilter early = (RateLimitFilter) context
                    .getBean("rateLimitEarlyFilterRegistration", FilterRegistrationBean.class).getFilter();
            MockMvc mvc = MockMvcBuilders.webAppContextSetup(context).addFilters(early).build();
            mvc.perform(get("/LOGIN")).andExpect(status().isOk()).andExpect(header().string("X-RateLimit-Remaining", "0"));
            mvc.perform(get("/Login")).andExpect(status().isTooManyRequests());
        });
    }

    static class CaseInsensitive implements WebMvcConfigurer {

        @Override
        public void configurePathMatch(PathMatchConfigurer configurer) {
            PathPatternParser parser = new PathPatternParser();
            parser.setCaseSensitive(false);
            configurer.setPatternParser(parser);
        }
    }

    @RestController
    static class Endpoint {

        @GetMapping("/api/items")
        String items() {
            return "items";
        }

        @GetMapping("/api/open")
        String open() {
            return "open";
        }

        @GetMapping("/login")
        String login() {
            return "login";
        }
    }
}
