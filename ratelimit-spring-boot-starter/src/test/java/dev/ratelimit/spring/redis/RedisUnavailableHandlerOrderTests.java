package dev.ratelimit.spring.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.redis.TestRedis;
import dev.ratelimit.spring.autoconfigure.RateLimitAutoConfiguration;
import dev.ratelimit.spring.autoconfigure.RateLimitRedisAutoConfiguration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.AbstractFilterRegistrationBean;
import org.springframework.boot.webmvc.autoconfigure.DispatcherServletAutoConfiguration;
import org.springframework.boot.webmvc.autoconfigure.WebMvcAutoConfiguration;

/**
 * The filter that turns a Redis outage into a 503 must run before the first rate-limit filter, at
 * its order minus one. The lowest order has nothing below it: minus one would wrap around to the
 * highest, the 503 filter would run last, and a closed-mode outage would reach the client as a 500.
 */
class RedisUnavailableHandlerOrderTests {

    private final WebApplicationContextRunner runner = new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataRedisAutoConfiguration.class, RateLimitAutoConfiguration.class,
                    RateLimitRedisAutoConfiguration.class, WebMvcAutoConfiguration.class,
                    DispatcherServletAutoConfiguration.class))
            .withPropertyValues("ratelimit.store=redis", "ratelimit.redis.key-prefix=" + TestRedis.prefix(),
                    "spring.data.redis.url=redis://" + TestRedis.uri().getHost() + ":" + TestRedis.uri().getPort(),
                    "ratelimit.tiers.free.limits[0].limit=5", "ratelimit.tiers.free.limits[0].period=1h",
                    "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**");

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"ratelimit.filter-order, -90, -91", "ratelimit.filter-order, -2147483647, -2147483648"})
    void theHandlerRunsJustBeforeTheFilter(String property, int order, int expected) {
        runner.withPropertyValues(property + "=" + order).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean("rateLimitRedisUnavailableRegistration", AbstractFilterRegistrationBean.class)
                    .getOrder()).isEqualTo(expected);
        });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"ratelimit.filter-order, false", "ratelimit.early-filter-order, true"})
    void theLowestOrderStopsStartUpNamingTheProperty(String property, boolean early) {
        runner.withPropertyValues(property + "=-2147483648", "ratelimit.rules[0].early=" + early).run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause()
                    .isInstanceOf(InvalidConfigurationPropertyValueException.class)
                    .hasMessageStartingWith("Property " + property + " with value '-2147483648' is invalid");
        });
    }
}
