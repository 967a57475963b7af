package dev.ratelimit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.core.Ticker;
import dev.ratelimit.spring.ClientKeyResolver;
import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitProperties;
import dev.ratelimit.spring.RateLimitResult;
import dev.ratelimit.spring.RateLimitedAspect;
import dev.ratelimit.spring.RateLimiterFactory;
import dev.ratelimit.spring.TierResolver;
import dev.ratelimit.spring.web.ApiKeyTierResolver;
import dev.ratelimit.spring.web.ClientIpResolver;
import dev.ratelimit.spring.web.DefaultClientKeyResolver;
import dev.ratelimit.spring.web.RateLimitExceptionResolver;
import dev.ratelimit.spring.web.RateLimitFilter;
import dev.ratelimit.spring.web.RateLimitResponses;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.mock.web.MockFilterConfig;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.mock.web.MockServletContext;

@ExtendWith(OutputCaptureExtension.class)
class RateLimitAutoConfigurationTests {

    private final WebApplicationContextRunner runner = new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(RateLimitAutoConfiguration.class))
            .withPropertyValues("ratelimit.tiers.free.limits[0].limit=10", "ratelimit.tiers.free.limits[0].period=1m");

    @Test
    void defaultsRegisterEveryBeanWithSecureSettings() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(Ticker.class)).isSameAs(Ticker.system());
            assertThat(context).hasSingleBean(RateLimiterFactory.class).hasSingleBean(RateLimitEnforcer.class)
                    .hasSingleBean(ClientIpResolver.class).hasSingleBean(RateLimitFilter.class)
                    .hasSingleBean(RateLimitResponses.class).hasSingleBean(RateLimitExceptionResolver.class)
                    .hasSingleBean(RateLimitedAspect.class);
            assertThat(context.getBean(TierResolver.class)).isInstanceOf(ApiKeyTierResolver.class);
            assertThat(context.getBean(ClientKeyResolver.class)).isInstanceOf(DefaultClientKeyResolver.class);
            assertThat(context.getBean("rateLimitFilterRegistration", FilterRegistrationBean.class).getOrder())
                    .isEqualTo(-90);
            RateLimitProperties properties = context.getBean(RateLimitProperties.class);
            assertThat(properties.getTrustedProxies()).isEmpty();
            assertThat(properties.getHeaders()).isEqualTo(RateLimitProperties.HeaderFormat.BOTH);
            assertThat(properties.getAlgorithm()).isEqualTo(Algorithm.TOKEN_BUCKET);
            assertThat(properties.getIpv6PrefixLength()).isEqualTo(64);
            assertThat(properties.getMemory().getMaxKeys()).isEqualTo(1_000_000);
            assertThat(properties.getUnknownApiKey()).isEqualTo(RateLimitProperties.UnknownApiKey.IP);
            assertThat(properties.getApiKeyHeader()).isEqualTo("X-API-Key");
            assertThat(properties.getDefaultTier()).isEqualTo("free");
        });
    }

    @Test
    void earlyFilterIsRegisteredDisabledUntilARuleIsMarkedEarly() {
        runner.withPropertyValues("ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**").run(context -> {
            FilterRegistrationBean<?> early = context.getBean("rateLimitEarlyFilterRegistration", FilterRegistrationBean.class);
            assertThat(early.isEnabled()).isFalse();
            assertThat(context).hasSingleBean(RateLimitFilter.class);
        });
        runner.withPropertyValues("ratelimit.rules[0].name=login", "ratelimit.rules[0].paths=/login",
                "ratelimit.rules[0].early=true", "ratelimit.early-filter-order=-120").run(context -> {
            FilterRegistrationBean<?> early = context.getBean("rateLimitEarlyFilterRegistration", FilterRegistrationBean.class);
            assertThat(early.isEnabled()).isTrue();
            assertThat(early.getOrder()).isEqualTo(-120);
            assertThat(early.getFilterName()).isEqualTo("rateLimitEarlyFilter");
            assertThat(early.getFilter()).isNotSameAs(context.getBean(RateLimitFilter.class));
        });
    }

    /**
     * One request through both filters, as the servlet container chains them: each applies its own
     * rules, and neither takes the other's decisions for its own (which would skip its rules).
     */
    @Test
    void bothFiltersApplyTheirRulesToOneRequest() {
        runner.withPropertyValues("ratelimit.rules[0].name=early", "ratelimit.rules[0].paths=/x",
                "ratelimit.rules[0].early=true", "ratelimit.rules[1].name=main", "ratelimit.rules[1].paths=/x",
                "ratelimit.rules[1].tier=paid", "ratelimit.tiers.paid.limits[0].limit=20",
                "ratelimit.tiers.paid.limits[0].period=1m").run(context -> {
            FilterRegistrationBean<?> main = context.getBean("rateLimitFilterRegistration", FilterRegistrationBean.class);
            FilterRegistrationBean<?> early = context.getBean("rateLimitEarlyFilterRegistration", FilterRegistrationBean.class);
            MockServletContext servletContext = new MockServletContext();
            // The main registration leaves its name to be deduced from the filter bean's name.
            main.getFilter().init(new MockFilterConfig(servletContext, "rateLimitFilter"));
            early.getFilter().init(new MockFilterConfig(servletContext, early.getFilterName()));
            MockHttpServletRequest request = new MockHttpServletRequest("GET", "/x");
            MockHttpServletResponse response = new MockHttpServletResponse();
            early.getFilter().doFilter(request, response,
                    (req, res) -> main.getFilter().doFilter(req, res, (last, lastResponse) -> {
                    }));
            assertThat(response.getHeader("RateLimit-Policy")).isEqualTo("\"free\";q=10;w=60, \"paid\";q=20;w=60");
        });
    }

    @Test
    void aPrincipalKeyInAnEarlyRuleIsReportedAtStartUp(CapturedOutput output) {
        runner.withPropertyValues("ratelimit.rules[0].name=main", "ratelimit.rules[0].key=principal",
                "ratelimit.rules[1].name=early", "ratelimit.rules[1].key=principal", "ratelimit.rules[1].early=true")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(output).contains("ratelimit.rules[1].key is principal in a rule marked early")
                            .doesNotContain("ratelimit.rules[0].key is principal");
                });
    }

    @Test
    void anExpressionOfTheUserInAnEarlyRuleIsReportedAtStartUp(CapturedOutput output) {
        runner.withPropertyValues("ratelimit.rules[0].name=early", "ratelimit.rules[0].key=#principal?.name",
                "ratelimit.rules[0].early=true",
                "ratelimit.rules[1].name=early-too", "ratelimit.rules[1].key=#request.userPrincipal?.name",
                "ratelimit.rules[1].early=true",
                "ratelimit.rules[2].name=tenant", "ratelimit.rules[2].key=#request.getHeader('X-Tenant')",
                "ratelimit.rules[2].early=true")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(output).contains("ratelimit.rules[0].key reads the user in a rule marked early")
                            .contains("ratelimit.rules[1].key reads the user in a rule marked early")
                            .doesNotContain("ratelimit.rules[2].key");
                });
    }

    /**
     * With spring.mvc.servlet.path, Spring MVC maps handlers within the servlet path, but the rules
     * see the whole path within the application: a rule on /api/** would never apply to the
     * handler at /svc/api/**, and every request would pass unlimited. Start-up says so.
     */
    @Test
    void aRulePathOutsideTheServletPathIsReportedAtStartUp(CapturedOutput output) {
        runner.withPropertyValues("spring.mvc.servlet.path=/svc/", "ratelimit.rules[0].name=api",
                "ratelimit.rules[0].paths=/api/**,/svc/other/**,/**", "ratelimit.rules[1].name=svc",
                "ratelimit.rules[1].paths=/svc", "ratelimit.exclude-paths=/health")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(output).contains("ratelimit.rules[0].paths[0] is /api/**, outside spring.mvc.servlet.path"
                            + " /svc, which Spring MVC maps its handlers within; paths here are matched within the"
                            + " application, the servlet path included, so write /svc/api/**")
                            .contains("ratelimit.exclude-paths[0] is /health, outside")
                            .doesNotContain("paths[1] is").doesNotContain("paths[2] is")
                            .doesNotContain("ratelimit.rules[1].paths[0] is");
                });
    }

    @Test
    void noServletPathNoReport(CapturedOutput output) {
        runner.withPropertyValues("spring.mvc.servlet.path=/", "ratelimit.rules[0].name=api",
                "ratelimit.rules[0].paths=/api/**").run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(output).doesNotContain("outside spring.mvc.servlet.path");
                });
    }

    @Test
    void earlyFilterOrderMustComeBeforeTheMainFilter() {
        runner.withPropertyValues("ratelimit.rules[0].name=login", "ratelimit.rules[0].paths=/login",
                "ratelimit.rules[0].early=true", "ratelimit.early-filter-order=-90").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause()
                    .hasMessageContaining("ratelimit.early-filter-order").hasMessageContaining("-90")
                    .hasMessageContaining("must be lower than ratelimit.filter-order (-90)");
        });
        // Without an early rule the order is not used, so it is not checked either.
        runner.withPropertyValues("ratelimit.early-filter-order=0").run(context -> assertThat(context).hasNotFailed());
    }

    @Test
    void propertiesOverrideTheDefaults() {
        runner.withPropertyValues("ratelimit.filter-order=-110", "ratelimit.algorithm=sliding-window-log",
                        "ratelimit.headers=ietf", "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**")
                .withBean(Ticker.class, ManualTicker::new)
                .run(context -> {
                    assertThat(context.getBean("rateLimitFilterRegistration", FilterRegistrationBean.class).getOrder())
                            .isEqualTo(-110);
                    assertThat(context.getBean(RateLimitProperties.class).getHeaders())
                            .isEqualTo(RateLimitProperties.HeaderFormat.IETF);
                    RateLimitResult result = context.getBean(RateLimitEnforcer.class)
                            .enforce(List.of(new RateLimitEnforcer.Check("api", "free", "ip:192.0.2.1", 4)));
                    assertThat(result.decisions()).singleElement().satisfies(d -> {
                        assertThat(d.policy().algorithm()).isEqualTo(Algorithm.SLIDING_WINDOW_LOG);
                        assertThat(d.decision().remaining()).isEqualTo(6);
                        // The sliding log frees the 4 permits exactly one period after they were taken.
                        assertThat(d.decision().resetAfter()).isEqualTo(Duration.ofMinutes(1));
                    });
                });
    }

    @Test
    void everyBeanBacksOffForTheApplicationsOwn() {
        RateLimiterFactory factory = (name, policy) -> RateLimiter.builder().limits(policy.limits()).build();
        TierResolver tiers = request -> null;
        ClientKeyResolver keys = request -> "everyone";
        ManualTicker ticker = new ManualTicker();
        runner.withBean(RateLimiterFactory.class, () -> factory).withBean(TierResolver.class, () -> tiers)
                .withBean(ClientKeyResolver.class, () -> keys).withBean(Ticker.class, () -> ticker)
                .withBean("rateLimitFilterRegistration", FilterRegistrationBean.class, FilterRegistrationBean::new)
                .run(context -> {
                    assertThat(context.getBean(RateLimiterFactory.class)).isSameAs(factory);
                    assertThat(context.getBean(TierResolver.class)).isSameAs(tiers);
                    assertThat(context.getBean(ClientKeyResolver.class)).isSameAs(keys);
                    assertThat(context.getBean(Ticker.class)).isSameAs(ticker);
                    assertThat(context.getBean("rateLimitFilterRegistration", FilterRegistrationBean.class).getFilter())
                            .isNull();
                });
    }

    @Test
    void disabledRegistersNothing() {
        runner.withPropertyValues("ratelimit.enabled=false").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(RateLimitProperties.class).doesNotHaveBean(RateLimitEnforcer.class)
                    .doesNotHaveBean(RateLimitFilter.class).doesNotHaveBean(RateLimitedAspect.class)
                    .doesNotHaveBean(RateLimiterFactory.class).doesNotHaveBean("rateLimitFilterRegistration");
        });
    }

    @Test
    void startsWithoutSpringSecurityActuatorOrMicrometer() {
        runner.withClassLoader(new FilteredClassLoader("org.springframework.security", "org.springframework.boot.actuate",
                "io.micrometer")).run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(RateLimitFilter.class).hasSingleBean(RateLimitedAspect.class);
                });
    }

    @Test
    void withoutAspectJTheFilterStillWorks() {
        runner.withClassLoader(new FilteredClassLoader("org.aspectj")).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(RateLimitFilter.class).doesNotHaveBean(RateLimitedAspect.class);
        });
    }
}
