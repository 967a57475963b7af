package dev.ratelimit.spring.autoconfigure;

import dev.ratelimit.redis.RedisRateLimiter;
import dev.ratelimit.spring.RateLimitProperties;
import dev.ratelimit.spring.RateLimitRedisProperties;
import dev.ratelimit.spring.RateLimiterFactory;
import dev.ratelimit.spring.web.RateLimitResponses;
import dev.ratelimit.spring.web.RedisUnavailableHandler;
import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.util.ClassUtils;
import org.springframework.web.servlet.DispatcherServlet;

/**
 * {@code ratelimit.store=redis}: limiters keep their state in Redis, on Spring Data Redis's Lettuce
 * client, so {@code spring.data.redis.*} (standalone, Sentinel or Cluster) decides where. Replaces
 * the in-memory {@link RateLimiterFactory}; the filter and {@code @RateLimited} are unchanged. In
 * closed mode, a Redis that cannot decide becomes a 503 for HTTP callers. With Actuator, the
 * {@code rateLimitRedis} health indicator reports the store.
 *
 * <p>Without {@code ratelimit-redis} or {@code spring-boot-starter-data-redis} on the class path the
 * application stops at start-up, naming what to add.
 */
@AutoConfiguration(before = RateLimitAutoConfiguration.class,
        afterName = "org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration")
@ConditionalOnBooleanProperty(name = "ratelimit.enabled", matchIfMissing = true)
@ConditionalOnProperty(name = "ratelimit.store", havingValue = "redis")
public final class RateLimitRedisAutoConfiguration {

    private static final String[][] DEPENDENCIES = {
        {"dev.ratelimit.redis.RedisRateLimiter", "dev.ratelimit:ratelimit-redis"},
        {"org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory",
            "org.springframework.boot:spring-boot-starter-data-redis"},
        {"org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails",
            "org.springframework.boot:spring-boot-starter-data-redis"},
    };

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass({RedisRateLimiter.class, LettuceConnectionFactory.class, DataRedisConnectionDetails.class})
    @EnableConfigurationProperties(RateLimitRedisProperties.class)
    static class RedisStoreConfiguration {

        /** Injected directly, so that the store (and its connection) closes before the client. */
        @Bean(destroyMethod = "close")
        @ConditionalOnMissingBean
        RedisStore rateLimitRedisStore(RateLimitRedisProperties properties, RedisConnectionFactory factory,
                ObjectProvider<DataRedisConnectionDetails> details) {
            DataRedisConnectionDetails connection = details.getIfAvailable();
            if (connection != null && connection.getMasterReplica() != null) {
                // The store opens its one connection on the factory's native RedisClient, which a
                // static master/replica set-up leaves without a node of its own; and a static list
                // would not follow a failover, so permits could be taken on a demoted master.
                throw new RedisStoreException("ratelimit.store=redis does not support a static master/replica"
                        + " set-up (spring.data.redis.masterreplica.nodes)",
                        "Point spring.data.redis at the master (spring.data.redis.url or host and port),"
                                + " or use Sentinel or Cluster, which follow a failover.",
                        null);
            }
            if (!(factory instanceof LettuceConnectionFactory lettuce)) {
                throw new RedisStoreException("ratelimit.store=redis needs Spring Data Redis's Lettuce client, but the"
                        + " RedisConnectionFactory is a " + factory.getClass().getName(),
                        "Use Lettuce: remove spring.data.redis.client-type=jedis, or define a LettuceConnectionFactory.",
                        null);
            }
            if (lettuce.getNativeClient() == null) {
                lettuce.start(); // normally started already: the factory starts early by default
            }
            // Started after the factory, so that a restart of the context finds the factory's new client.
            int phase = lettuce.getPhase() == Integer.MAX_VALUE ? Integer.MAX_VALUE : lettuce.getPhase() + 1;
            return new RedisStore(lettuce::getRequiredNativeClient, phase, properties);
        }

        @Bean
        @ConditionalOnMissingBean
        RateLimiterFactory rateLimiterFactory(RedisStore store) {
            return store::create;
        }

        @Configuration(proxyBeanMethods = false)
        @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
        @ConditionalOnClass(DispatcherServlet.class)
        static class ServletConfiguration {

            @Bean
            @ConditionalOnMissingBean
            RedisUnavailableHandler rateLimitRedisUnavailableHandler(RateLimitResponses responses, RedisStore store) {
                return new RedisUnavailableHandler(responses, store.retryAfterSeconds());
            }

            /** Just outside the first rate-limit filter, so that a RedisUnavailableException from either becomes a 503. */
            @Bean
            @ConditionalOnMissingBean(name = "rateLimitRedisUnavailableRegistration")
            FilterRegistrationBean<RedisUnavailableHandler> rateLimitRedisUnavailableRegistration(
                    RedisUnavailableHandler handler, RateLimitProperties properties) {
                FilterRegistrationBean<RedisUnavailableHandler> registration = new FilterRegistrationBean<>(handler);
                boolean early = properties.hasEarlyRules() && properties.getEarlyFilterOrder() < properties.getFilterOrder();
                int first = early ? properties.getEarlyFilterOrder() : properties.getFilterOrder();
                if (first == Integer.MIN_VALUE) {
                    // first - 1 would wrap around to the last order, after the filters whose outage it answers
                    throw new InvalidConfigurationPropertyValueException(
                            early ? "ratelimit.early-filter-order" : "ratelimit.filter-order", first,
                            "must be above " + Integer.MIN_VALUE + " with ratelimit.store=redis, so that the filter"
                                    + " answering 503 while Redis cannot decide can run just before it");
                }
                registration.setOrder(first - 1);
                return registration;
            }
        }

        @Configuration(proxyBeanMethods = false)
        @ConditionalOnClass(HealthIndicator.class)
        @ConditionalOnEnabledHealthIndicator("ratelimit-redis")
        static class HealthConfiguration {

            @Bean
            @ConditionalOnMissingBean(name = "rateLimitRedisHealthIndicator")
            HealthIndicator rateLimitRedisHealthIndicator(RedisStore store) {
                return new RedisStoreHealthIndicator(store);
            }
        }
    }

    @Configuration(proxyBeanMethods = false)
    @Conditional(DependencyMissing.class)
    static class MissingDependencyConfiguration {

        @Bean
        Object rateLimitRedisDependencyCheck(ConfigurableListableBeanFactory beanFactory) {
            List<String> missing = missing(beanFactory.getBeanClassLoader());
            throw new RedisStoreException("ratelimit.store=redis, but " + String.join(" and ", missing)
                    + (missing.size() == 1 ? " is" : " are") + " not on the class path",
                    "Add " + String.join(" and ", missing) + " to the application's dependencies, or set"
                            + " ratelimit.store=memory.", null);
        }
    }

    /** The Maven coordinates of the dependencies the Redis store needs and cannot find. */
    static List<String> missing(ClassLoader classLoader) {
        List<String> missing = new ArrayList<>();
        for (String[] dependency : DEPENDENCIES) {
            if (!ClassUtils.isPresent(dependency[0], classLoader) && !missing.contains(dependency[1])) {
                missing.add(dependency[1]);
            }
        }
        return missing;
    }

    static final class DependencyMissing extends SpringBootCondition {

        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            List<String> missing = missing(context.getClassLoader());
            return missing.isEmpty() ? ConditionOutcome.noMatch("the Redis store's dependencies are present")
                    : ConditionOutcome.match("missing " + missing);
        }
    }
}
