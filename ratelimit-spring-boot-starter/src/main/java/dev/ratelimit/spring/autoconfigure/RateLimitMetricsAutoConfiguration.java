package dev.ratelimit.spring.autoconfigure;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.metrics.RateLimitMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The {@code ratelimit.requests} and {@code ratelimit.decision} meters, when the application has a
 * Micrometer {@link MeterRegistry} (Spring Boot's Actuator provides one). The meters are a
 * {@link dev.ratelimit.spring.RateLimitListener}, which the enforcer reports every decision to.
 */
@AutoConfiguration(after = RateLimitAutoConfiguration.class,
        afterName = "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration")
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean({MeterRegistry.class, RateLimitEnforcer.class})
public final class RateLimitMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    RateLimitMetrics rateLimitMetrics(MeterRegistry registry) {
        return new RateLimitMetrics(registry);
    }
}
