package dev.ratelimit.spring.autoconfigure;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.actuate.RateLimitsEndpoint;
import dev.ratelimit.spring.web.ClientIpResolver;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * The {@code ratelimits} Actuator endpoint, when Actuator is present and the endpoint is enabled and
 * exposed ({@code management.endpoints.web.exposure.include=ratelimits}).
 */
@AutoConfiguration(after = RateLimitAutoConfiguration.class)
@ConditionalOnClass(Endpoint.class)
@ConditionalOnBean(RateLimitEnforcer.class)
@ConditionalOnAvailableEndpoint(RateLimitsEndpoint.class)
public final class RateLimitEndpointAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    RateLimitsEndpoint rateLimitsEndpoint(RateLimitEnforcer enforcer, ObjectProvider<ClientIpResolver> ips) {
        ClientIpResolver resolver = ips.getIfAvailable();
        return resolver == null ? new RateLimitsEndpoint(enforcer) : new RateLimitsEndpoint(enforcer, resolver::canonical);
    }
}
