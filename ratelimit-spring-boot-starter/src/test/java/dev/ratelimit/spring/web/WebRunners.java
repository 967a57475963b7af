package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.core.Ticker;
import dev.ratelimit.spring.autoconfigure.RateLimitAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.assertj.AssertableWebApplicationContext;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.webmvc.autoconfigure.DispatcherServletAutoConfiguration;
import org.springframework.boot.webmvc.autoconfigure.WebMvcAutoConfiguration;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.ResultActions;
import org.springframework.test.web.servlet.request.MockHttpServletRequestBuilder;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;

/** A servlet application with the starter, Spring MVC and time stopped, for tests that each configure their own. */
final class WebRunners {

    private WebRunners() {
    }

    /** The application serving {@code endpoint}, with {@code properties}. */
    static WebApplicationContextRunner runner(Class<?> endpoint, String... properties) {
        return new WebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(RateLimitAutoConfiguration.class, WebMvcAutoConfiguration.class,
                        DispatcherServletAutoConfiguration.class))
                .withBean(Ticker.class, ManualTicker::new)
                .withBean(endpoint)
                .withPropertyValues(properties);
    }

    /** MockMvc through the rate-limit filter, once the context has started. */
    static MockMvc mvc(AssertableWebApplicationContext context) {
        assertThat(context).hasNotFailed();
        return MockMvcBuilders.webAppContextSetup(context).addFilters(context.getBean(RateLimitFilter.class)).build();
    }

    /** Performs {@code request} as if it came from {@code remoteAddress}. */
    static ResultActions perform(MockMvc mvc, MockHttpServletRequestBuilder request, String remoteAddress)
            throws Exception {
        return mvc.perform(request.with(r -> {
            r.setRemoteAddr(remoteAddress);
            return r;
        }));
    }
}
