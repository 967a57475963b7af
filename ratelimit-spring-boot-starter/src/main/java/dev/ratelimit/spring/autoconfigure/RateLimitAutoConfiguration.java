package dev.ratelimit.spring.autoconfigure;

import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.core.Ticker;
import dev.ratelimit.spring.ClientKeyResolver;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitListener;
import dev.ratelimit.spring.RateLimitProperties;
import dev.ratelimit.spring.RateLimitedAspect;
import dev.ratelimit.spring.RateLimiterFactory;
import dev.ratelimit.spring.TierResolver;
import dev.ratelimit.spring.web.ApiKeyTierResolver;
import dev.ratelimit.spring.web.ClientIpResolver;
import dev.ratelimit.spring.web.DefaultClientKeyResolver;
import dev.ratelimit.spring.web.RateLimitExceptionResolver;
import dev.ratelimit.spring.web.RateLimitFilter;
import dev.ratelimit.spring.web.RateLimitResponses;
import jakarta.servlet.http.HttpServletRequest;
import java.util.List;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.aspectj.lang.annotation.Aspect;
import org.springframework.aop.PointcutAdvisor;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.context.annotation.EnableAspectJAutoProxy;
import org.springframework.context.annotation.Role;
import org.springframework.web.servlet.DispatcherServlet;
import org.springframework.web.util.pattern.PathPatternParser;

/**
 * Rate limiting from {@code ratelimit.*}: an in-memory limiter per rule and tier, a servlet filter
 * for {@code ratelimit.rules} and an aspect for {@link dev.ratelimit.spring.RateLimited}. Every
 * bean backs off when the application defines its own; {@code ratelimit.enabled=false} removes them all.
 */
@AutoConfiguration
@ConditionalOnBooleanProperty(name = "ratelimit.enabled", matchIfMissing = true)
@EnableConfigurationProperties(RateLimitProperties.class)
public final class RateLimitAutoConfiguration {

    private static final Log LOG = LogFactory.getLog(RateLimitAutoConfiguration.class);

    @Bean
    @ConditionalOnMissingBean
    Ticker rateLimitTicker() {
        return Ticker.system();
    }

    @Bean
    @ConditionalOnMissingBean
    RateLimiterFactory rateLimiterFactory(RateLimitProperties properties, Ticker ticker) {
        long maxKeys = properties.getMemory().getMaxKeys();
        return (name, policy) -> RateLimiter.builder()
                .algorithm(policy.algorithm())
                .limits(policy.limits())
                .ticker(ticker)
                .maxKeys(maxKeys > 0 ? maxKeys : 1) // a bad value has already stopped the enforcer
                .build();
    }

    @Bean
    @ConditionalOnMissingBean
    RateLimitEnforcer rateLimitEnforcer(RateLimitProperties properties, RateLimiterFactory factory,
            ObjectProvider<RateLimitListener> listeners, Environment environment) {
        UnknownProperties.refuse(environment);
        return new RateLimitEnforcer(properties, factory, listeners.orderedStream().toList());
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnClass({HttpServletRequest.class, DispatcherServlet.class})
    static class ServletConfiguration {

        @Bean
        @ConditionalOnMissingBean
        ClientIpResolver rateLimitClientIpResolver(RateLimitProperties properties) {
            return new ClientIpResolver(properties.getTrustedProxies(), properties.getIpv6PrefixLength(),
                    properties.getForwardedHeader());
        }

        @Bean
        @ConditionalOnMissingBean
        TierResolver rateLimitTierResolver(RateLimitProperties properties, RateLimitEnforcer checked) {
            // takes the enforcer so that its check has named a malformed digest's property before
            // the resolver refuses the digest
            return new ApiKeyTierResolver(properties.getApiKeys(), properties.getApiKeyDigests(),
                    properties.getApiKeyHeader());
        }

        @Bean
        @ConditionalOnMissingBean
        ClientKeyResolver rateLimitClientKeyResolver(RateLimitProperties properties, ClientIpResolver ips,
                TierResolver tiers) {
            return new DefaultClientKeyResolver(ips, tiers, properties.getApiKeyHeader());
        }

        @Bean
        @ConditionalOnMissingBean
        RateLimitResponses rateLimitResponses(RateLimitProperties properties) {
            return new RateLimitResponses(properties.getHeaders(), properties.getProblemType());
        }

        @Bean
        @ConditionalOnMissingBean
        RateLimitFilter rateLimitFilter(RateLimitProperties properties, RateLimitEnforcer enforcer,
                ClientIpResolver ips, TierResolver tiers, ClientKeyResolver keys, RateLimitResponses responses,
                ConfigurableListableBeanFactory beanFactory) {
            return new RateLimitFilter(properties, enforcer, ips, tiers, keys, responses, beanFactory);
        }

        @Bean
        @ConditionalOnMissingBean(name = "rateLimitFilterRegistration")
        FilterRegistrationBean<RateLimitFilter> rateLimitFilterRegistration(RateLimitFilter filter,
                RateLimitProperties properties, Environment environment) {
            warnOfPathsOutsideTheServletPath(properties, environment.getProperty("spring.mvc.servlet.path", "/"));
            FilterRegistrationBean<RateLimitFilter> registration = new FilterRegistrationBean<>(filter);
            registration.setOrder(properties.getFilterOrder());
            return registration;
        }

        /**
         * Spring MVC maps handlers within {@code spring.mvc.servlet.path}, while the filter matches the
         * whole path within the application, servlet path included (the path a client sends, which
         * other servlets share): a rule written as a handler's mapping, {@code /api/**} under a servlet
         * path {@code /svc}, would never apply, and every request would pass unlimited. A pattern that
         * starts with a wildcard may still match, so only one with a literal first segment other than
         * the servlet path's is reported.
         */
        private static void warnOfPathsOutsideTheServletPath(RateLimitProperties properties, String servletPath) {
            String prefix = servletPath.endsWith("/") ? servletPath.substring(0, servletPath.length() - 1) : servletPath;
            if (prefix.isEmpty() || !prefix.startsWith("/")) {
                return;
            }
            List<RateLimitProperties.Rule> rules = properties.getRules();
            for (int i = 0; i < rules.size(); i++) {
                warnOfPathsOutside(prefix, "ratelimit.rules[" + i + "].paths", rules.get(i).getPaths());
            }
            warnOfPathsOutside(prefix, "ratelimit.exclude-paths", properties.getExcludePaths());
        }

        private static void warnOfPathsOutside(String prefix, String property, List<String> paths) {
            for (int j = 0; j < paths.size(); j++) {
                String path = paths.get(j);
                if (path == null || path.startsWith("/*") || path.startsWith("/{")) {
                    continue;
                }
                if (!path.equals(prefix) && !path.startsWith(prefix + "/")) {
                    LOG.warn(property + "[" + j + "] is " + path + ", outside spring.mvc.servlet.path " + prefix
                            + ", which Spring MVC maps its handlers within; paths here are matched within the"
                            + " application, the servlet path included, so write " + prefix + path
                            + " to limit the handler mapped at " + path);
                }
            }
        }

        /**
         * The rules marked {@code early}, in a filter of their own at {@code ratelimit.early-filter-order}:
         * before Spring Security's chain by default, so that an IP rule on a login form counts requests
         * before credentials are checked, while the other rules still see the authenticated user.
         * Registered but disabled when no rule is early. Not a bean itself, so that it does not stand in
         * for the main {@link RateLimitFilter} bean that applications may replace.
         */
        @Bean
        @ConditionalOnMissingBean(name = "rateLimitEarlyFilterRegistration")
        FilterRegistrationBean<RateLimitFilter> rateLimitEarlyFilterRegistration(RateLimitProperties properties,
                RateLimitEnforcer enforcer, ClientIpResolver ips, TierResolver tiers, ClientKeyResolver keys,
                RateLimitResponses responses, ConfigurableListableBeanFactory beanFactory) {
            boolean early = properties.hasEarlyRules();
            if (early && properties.getEarlyFilterOrder() >= properties.getFilterOrder()) {
                throw new InvalidConfigurationPropertyValueException("ratelimit.early-filter-order",
                        properties.getEarlyFilterOrder(), "must be lower than ratelimit.filter-order ("
                                + properties.getFilterOrder() + "), or the rules marked early would run later");
            }
            FilterRegistrationBean<RateLimitFilter> registration = new FilterRegistrationBean<>(
                    new RateLimitFilter(properties, enforcer, ips, tiers, keys, responses, beanFactory, true));
            // Its own name: under the main filter's, the container would register one filter for both.
            registration.setName("rateLimitEarlyFilter");
            registration.setOrder(properties.getEarlyFilterOrder());
            registration.setEnabled(early);
            return registration;
        }

        /**
         * Once the application's beans exist, and before the server takes requests, has both filters
         * read their paths with Spring MVC's own pattern parser ({@code mvcPatternParser}), which the
         * application may have configured to ignore case: else {@code /API/items} would reach the
         * {@code /api/items} handler past a rule on {@code /api/**}.
         */
        @Bean
        SmartInitializingSingleton rateLimitFilterPatternParser(ConfigurableListableBeanFactory beanFactory,
                ObjectProvider<RateLimitFilter> filter,
                @Qualifier("rateLimitEarlyFilterRegistration") ObjectProvider<FilterRegistrationBean<?>> early) {
            return () -> {
                if (!beanFactory.containsBean("mvcPatternParser")
                        || !beanFactory.isTypeMatch("mvcPatternParser", PathPatternParser.class)) {
                    return;
                }
                PathPatternParser parser = beanFactory.getBean("mvcPatternParser", PathPatternParser.class);
                filter.ifAvailable(main -> main.usePatternParser(parser));
                early.ifAvailable(registration -> {
                    if (registration.getFilter() instanceof RateLimitFilter earlyFilter) {
                        earlyFilter.usePatternParser(parser);
                    }
                });
            };
        }

        @Bean
        @ConditionalOnMissingBean
        RateLimitExceptionResolver rateLimitExceptionResolver(RateLimitResponses responses) {
            return new RateLimitExceptionResolver(responses);
        }

        @Bean
        @ConditionalOnMissingBean
        RateLimitedAspect.Web rateLimitedAspectWeb(RateLimitProperties properties, TierResolver tiers,
                ClientKeyResolver keys, ClientIpResolver ips, RateLimitResponses responses,
                ConfigurableListableBeanFactory beanFactory) {
            // Keyed as the filter keys each rule, so that @RateLimited(rule = ...) shares that rule's buckets.
            return new RateLimitedAspect.Web(tiers::resolve, DefaultClientKeyResolver.namespaced(keys, ips)::resolve,
                    responses::writeHeaders, RateLimitFilter.ruleKeys(properties, ips, tiers, keys, beanFactory));
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(Aspect.class)
    @EnableAspectJAutoProxy
    static class AspectConfiguration {

        @Bean
        @ConditionalOnMissingBean
        RateLimitedAspect rateLimitedAspect(RateLimitEnforcer enforcer, RateLimitProperties properties,
                ObjectProvider<RateLimitedAspect.Web> web, ConfigurableListableBeanFactory beanFactory) {
            return new RateLimitedAspect(enforcer, properties, web.getIfAvailable(), beanFactory);
        }

        /** Static, and infrastructure, as auto-proxying asks for advisors before most beans exist. */
        @Bean
        @Role(BeanDefinition.ROLE_INFRASTRUCTURE)
        @ConditionalOnMissingBean(name = "rateLimitedAdvisor")
        static PointcutAdvisor rateLimitedAdvisor(ObjectProvider<RateLimitedAspect> aspect) {
            return RateLimitedAspect.advisor(aspect::getObject);
        }
    }
}
