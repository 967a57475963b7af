package dev.ratelimit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimited;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/** Each mistake stops the application with the property path and the value in the message. */
class ConfigurationValidationTests {

    private static final String FREE = "ratelimit.tiers.free.limits[0]";

    private final WebApplicationContextRunner runner = new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(RateLimitAutoConfiguration.class));

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
        FREE + ".limit | 0 | Property " + FREE + ".limit with value '0' is invalid: must be between 1 and 1000000000000",
        FREE + ".limit | -3 | Property " + FREE + ".limit with value '-3' is invalid: must be between 1 and 1000000000000",
        FREE + ".capacity | 0 | Property " + FREE + ".capacity with value '0' is invalid: must be between 1 and 1000000000000",
        FREE + ".period | -5s | Property " + FREE + ".period with value '-5s' is invalid: must be between 1ms and 365d",
        FREE + ".period | 0s | Property " + FREE + ".period with value '0s' is invalid: must be between 1ms and 365d",
        FREE + ".period | 366d | Property " + FREE + ".period with value '366d' is invalid: must be between 1ms and 365d",
        FREE + ".period | 500us | Property " + FREE + ".period with value '500us' is invalid: must be between 1ms and 365d",
        "ratelimit.rules[0].cost | 11 | Property ratelimit.rules[0].cost with value '11' is invalid: exceeds capacity 10 of tier \"free\", so no request could ever be admitted",
        "ratelimit.rules[0].cost | 0 | Property ratelimit.rules[0].cost with value '0' is invalid: must be between 1 and 1000000000000",
        "ratelimit.rules[0].tier | gold | Property ratelimit.rules[0].tier with value 'gold' is invalid: names no tier; tiers are [free]",
        "ratelimit.default-tier | gold | Property ratelimit.default-tier with value 'gold' is invalid: names no tier; tiers are [free]",
        "ratelimit.api-key-header | 'X API Key' | Property ratelimit.api-key-header with value 'X API Key' is invalid: must be a header name, such as X-API-Key",
        "ratelimit.problem-type | ':bad uri' | Property ratelimit.problem-type with value ':bad uri' is invalid: must be a URI reference, such as about:blank or https://example.com/problems/rate-limit",
        "ratelimit.api-keys.abc | gold | Property ratelimit.api-keys[sha256:ba7816bf] with value 'gold' is invalid: names no tier; tiers are [free]",
        "ratelimit.api-key-digests.70f1a37e02734ae996ea04f467884eafe363871f7ac0e8d23496ae6dd7cebd9f | gold | Property ratelimit.api-key-digests[70f1a37e02734ae996ea04f467884eafe363871f7ac0e8d23496ae6dd7cebd9f] with value 'gold' is invalid: names no tier; tiers are [free]",
        "ratelimit.api-key-digests.abc | free | Property ratelimit.api-key-digests[abc] with value 'free' is invalid: must be the SHA-256 of an API key in 64 hex digits, as sha256sum prints it",
        "ratelimit.trusted-proxies[0] | 10.0.0.0/33 | Property ratelimit.trusted-proxies[0] with value '10.0.0.0/33' is invalid: must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32: prefix length must be between 0 and 32",
        "ratelimit.trusted-proxies[0] | proxy.example.com | Property ratelimit.trusted-proxies[0] with value 'proxy.example.com' is invalid: must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32: not an IP address",
        "ratelimit.trusted-proxies[0] | 300.1.1.1/8 | Property ratelimit.trusted-proxies[0] with value '300.1.1.1/8' is invalid: must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32: not an IP address",
        "ratelimit.ipv6-prefix-length | 129 | Property ratelimit.ipv6-prefix-length with value '129' is invalid: must be between 1 and 128",
        "ratelimit.rules[0].key | #request.getHeader( | Property ratelimit.rules[0].key with value '#request.getHeader(' is invalid: is not a valid SpEL expression: ",
        "ratelimit.rules[0].key | remoteUser ?: #tenat | Property ratelimit.rules[0].key with value 'remoteUser ?: #tenat' is invalid: names #tenat, which is not set; the variables are #request, #principal and #ip",
        "ratelimit.rules[0].key | ipp | Property ratelimit.rules[0].key with value 'ipp' is invalid: must be ip, api-key, principal, header:<Name> or a SpEL expression",
        "ratelimit.rules[0].key | header: | Property ratelimit.rules[0].key with value 'header:' is invalid: must name one header after \"header:\", such as header:X-Tenant",
        "ratelimit.rules[0].key | 'header:X Tenant' | Property ratelimit.rules[0].key with value 'header:X Tenant' is invalid: must name one header after \"header:\", such as header:X-Tenant",
        "ratelimit.rules[0].paths[0] | /api/{id | Property ratelimit.rules[0].paths[0] with value '/api/{id' is invalid: is not a valid path pattern",
        "ratelimit.exclude-paths[0] | /api/{id | Property ratelimit.exclude-paths[0] with value '/api/{id' is invalid: is not a valid path pattern",
        "ratelimit.memory.max-keys | 0 | Property ratelimit.memory.max-keys with value '0' is invalid: must be positive",
    })
    void badValueStopsStartupNamingPathAndValue(String property, String value, String message) {
        runner.withPropertyValues(validWith(property, value)).run(context -> {
            assertThat(context).hasFailed();
            assertThat(rootCause(context.getStartupFailure()).getMessage()).startsWith(message);
        });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"ratelimit.algorithm", "ratelimit.rules[0].algorithm"})
    void unknownAlgorithmStopsStartupNamingPathAndValue(String property) {
        runner.withPropertyValues(validWith(property, "bogus-bucket")).run(context -> {
            assertThat(context).hasFailed();
            assertThat(messages(context.getStartupFailure()))
                    .contains("Failed to bind properties under '" + property + "' to dev.ratelimit.core.Algorithm")
                    .contains("bogus-bucket");
        });
    }

    /** The message names the property that chose the algorithm, the rule's own or the default, as YAML spells it. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"ratelimit.rules[0].algorithm", "ratelimit.algorithm"})
    void slidingLogRefusesACapacityItCannotHold(String property) {
        runner.withPropertyValues(validWith(property, "sliding-window-log"))
                .withPropertyValues(FREE + ".limit=2000000").run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()).getMessage()).startsWith("Property " + property
                            + " with value 'sliding-window-log' is invalid: cannot enforce tier \"free\": capacity of"
                            + " limit 2000000/PT1M must be at most 1000000");
                });
    }

    @Test
    void badAnnotationStopsStartupNamingMethodAndValue() {
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(UnknownTierService.class)
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo(
                            "@RateLimited(tier = \"gold\") on UnknownTierService.call names no tier; tiers are [free]");
                });
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(BadPeriodService.class)
                .run(context -> assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo(
                        "@RateLimited(limit = \"5/-1s\") on BadPeriodService.call period must be between 1ms and 365d: PT-1S"));
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(BadKeyService.class)
                .run(context -> assertThat(rootCause(context.getStartupFailure()).getMessage()).startsWith(
                        "@RateLimited(key = \"#id +\") on BadKeyService.call is not a valid SpEL expression"));
        // An unknown variable reads as null, and the call would fall back to a shared key.
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(MisspelledKeyService.class)
                .run(context -> assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo(
                        "@RateLimited(key = \"#request.getHeader('X-Tenant') + #emial\") on MisspelledKeyService.send names"
                                + " #emial, which the method has no parameter of; it has [email, copies], besides #p0/#a0 ...,"
                                + " #request and #principal"));
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(AliasedKeyService.class)
                .run(context -> assertThat(context).hasNotFailed());
    }

    /**
     * {@code name} names the method's own rule; a rule of {@code ratelimit.rules} of that name is
     * someone else's. With the same settings the method silently shared its buckets (what
     * {@code rule = "api"} asks for openly); with others start-up failed on a message naming no method.
     */
    @Test
    void anAnnotationNamedAfterARuleOfThePropertiesStopsStartupNamingTheMethod() {
        for (Class<?> service : List.of(NamedLikeARuleService.class, NamedLikeARuleWithATierService.class)) {
            runner.withPropertyValues(validWith("ratelimit.default-tier", "free")).withBean(service)
                    .run(context -> {
                        assertThat(context).hasFailed();
                        assertThat(rootCause(context.getStartupFailure())).hasMessage("@RateLimited(name = \"api\") on "
                                + service.getSimpleName() + ".call names a rule of ratelimit.rules; use rule = \"api\""
                                + " to share that rule's buckets, or another name");
                    });
        }
    }

    static class NamedLikeARuleService {
        @RateLimited(name = "api")
        public void call() {
        }
    }

    static class NamedLikeARuleWithATierService {
        @RateLimited(name = "api", tier = "free")
        public void call() {
        }
    }

    @Test
    void annotationOnAMethodNoProxyCanInterceptStopsStartup() {
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(PackagePrivateService.class)
                .run(context -> assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo(
                        "@RateLimited on PackagePrivateService.call would never apply: it must be on a public,"
                                + " non-static, non-final method"));
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(FinalMethodService.class)
                .run(context -> assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo(
                        "@RateLimited on FinalMethodService.call would never apply: it must be on a public,"
                                + " non-static, non-final method"));
        runner.withPropertyValues(validWith("ratelimit.default-tier", "free"))
                .withBean(FinalUnderClassAnnotationService.class)
                .run(context -> assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo(
                        "@RateLimited on FinalUnderClassAnnotationService.call would never apply: it must be on a"
                                + " public, non-static, non-final method"));
    }

    @Test
    void aTierNamedAfterAnotherTiersSecondLimitStopsStartup() {
        runner.withPropertyValues(validWith(FREE.replace("[0]", "[1]") + ".limit", "100"))
                .withPropertyValues(FREE.replace("[0]", "[1]") + ".period=1h", "ratelimit.tiers.free-2.limits[0].limit=5",
                        "ratelimit.tiers.free-2.limits[0].period=1s")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo("Property ratelimit.tiers.free-2"
                            + " with value 'free-2' is invalid: is the name the RateLimit headers give limit 2 of tier"
                            + " \"free\"; give the tier another name");
                });
    }

    /** A second rule applying tier free is named api-free in the headers, and its second limit api-free-2. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "api-free | is the name the RateLimit headers give tier \"free\" under rule \"api\"",
        "api-free-2 | is the name the RateLimit headers give limit 2 of tier \"free\" under rule \"api\"",
    })
    void aTierNamedAfterARuleAndATierStopsStartup(String name, String reason) {
        runner.withPropertyValues(validWith(FREE.replace("[0]", "[1]") + ".limit", "100"))
                .withPropertyValues(FREE.replace("[0]", "[1]") + ".period=1h", "ratelimit.tiers." + name + ".limits[0].limit=5",
                        "ratelimit.tiers." + name + ".limits[0].period=1s")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo("Property ratelimit.tiers."
                            + name + " with value '" + name + "' is invalid: " + reason
                            + " when another rule applies that tier too; give the tier another name");
                });
    }

    /** Whichever bean meets the rule first, the message is the property's, not a NullPointerException. */
    @Test
    void aRuleWithAKeyButNoNameStopsStartupNamingTheName() {
        runner.withPropertyValues(FREE + ".limit=10", FREE + ".period=1m", "ratelimit.rules[0].paths=/api/**",
                "ratelimit.rules[0].key=ip").run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()).getMessage())
                            .startsWith("Property ratelimit.rules[0].name with value 'null' is invalid: must not be blank");
                });
    }

    /** A misspelt name would be dropped: a rule without its paths covers every path. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "ratelimit.rules[0].pahts | /api/**",
        FREE + ".capacty | 100",
        "ratelimit.trusted-proxys | 10.0.0.0/8",
        "ratelimit.redis.comand-timeout | 50ms",
    })
    void anUnknownNameStopsStartupNamingIt(String property, String value) {
        runner.withPropertyValues(validWith(property, value)).run(context -> {
            assertThat(context).hasFailed();
            assertThat(messages(context.getStartupFailure())).contains(property);
        });
    }

    /** One key in {@code api-keys} and, by its digest, in {@code api-key-digests}, with two tiers: which would it get? */
    @Test
    void aKeyListedBothWaysWithTwoTiersStopsStartup() {
        runner.withPropertyValues(validWith("ratelimit.api-keys.digest-only-key", "free"))
                .withPropertyValues("ratelimit.tiers.premium.limits[0].limit=20", "ratelimit.tiers.premium.limits[0].period=1m",
                        "ratelimit.api-key-digests.70F1A37E02734AE996EA04F467884EAFE363871F7AC0E8D23496AE6DD7CEBD9F=premium")
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()).getMessage()).isEqualTo(
                            "Property ratelimit.api-keys[sha256:70f1a37e] with value 'free' is invalid: the key is also in"
                            + " ratelimit.api-key-digests, with tier \"premium\"");
                });
    }

    /**
     * What Kubernetes sets for a service named ratelimit, as environment variables, and every name
     * the starter knows, in properties: none stops the application.
     */
    @Test
    void environmentVariablesAndKnownNamesPass() {
        runner.withPropertyValues(validWith("ratelimit.redis.key-prefix", "rl:"))
                .withPropertyValues("ratelimit.redis.deny-cache.enabled=false", "ratelimit.memory.max-keys=10",
                        FREE + ".capacity=20", "ratelimit.api-keys.k1=free", "ratelimit.rules[0].key=ip",
                        "ratelimit.api-key-digests.70f1a37e02734ae996ea04f467884eafe363871f7ac0e8d23496ae6dd7cebd9f=free")
                .withInitializer(context -> context.getEnvironment().getPropertySources().addLast(
                        new SystemEnvironmentPropertySource("systemEnvironment", Map.of(
                                "RATELIMIT_PORT", "tcp://10.0.0.1:80", "RATELIMIT_SERVICE_HOST", "10.0.0.1"))))
                .run(context -> assertThat(context).hasNotFailed());
    }

    /** A valid configuration with one property replaced. */
    private static String[] validWith(String property, String value) {
        List<String> properties = new ArrayList<>(List.of(FREE + ".limit=10", FREE + ".period=1m",
                "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**"));
        properties.removeIf(p -> property.startsWith(p.substring(0, p.indexOf('='))));
        properties.add(property + "=" + value);
        return properties.toArray(String[]::new);
    }

    private static Throwable rootCause(Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static String messages(Throwable failure) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append('\n');
        }
        return all.toString();
    }

    /** As for Boot's own second-based durations: "60" is a minute, not the binder's default 60 ms. */
    @Test
    void aPeriodWithoutUnitIsSecondsInPropertiesAndAnnotations() {
        runner.withPropertyValues("ratelimit.tiers.free.limits[0].limit=10", "ratelimit.tiers.free.limits[0].period=60",
                        "ratelimit.rules[0].name=api")
                .withBean(BarePeriodService.class)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    Map<String, Duration> periods = new HashMap<>();
                    context.getBean(RateLimitEnforcer.class).rules().forEach(rule -> rule.policies().forEach(
                            (policy, limits) -> periods.put(rule.name(), limits.limits().get(0).period())));
                    assertThat(periods).containsExactlyInAnyOrderEntriesOf(Map.of(
                            "api", Duration.ofMinutes(1), "BarePeriodService.call", Duration.ofSeconds(90)));
                });
    }

    static class BarePeriodService {
        @RateLimited(limit = 5, period = "90")
        public void call() {
        }
    }

    static class UnknownTierService {
        @RateLimited(tier = "gold")
        public void call() {
        }
    }

    static class BadPeriodService {
        @RateLimited(limit = 5, period = "-1s")
        public void call() {
        }
    }

    static class PackagePrivateService {
        @RateLimited(limit = 5, period = "1s")
        void call() {
        }
    }

    /** The class's annotation takes in each public instance method, and a proxy cannot intercept a final one. */
    @RateLimited(limit = 5, period = "1s")
    static class FinalUnderClassAnnotationService {
        public final void call() {
        }

        public static void helper() { // static: not taken in, so no reason to refuse
        }
    }

    static class FinalMethodService {
        @RateLimited(limit = 5, period = "1s")
        public final void call() {
        }
    }

    static class MisspelledKeyService {
        @RateLimited(limit = 5, period = "1s", key = "#request.getHeader('X-Tenant') + #emial")
        public void send(String email, int copies) {
        }
    }

    static class AliasedKeyService {
        @RateLimited(limit = 5, period = "1s", key = "#email + #p1 + #a0 + (#principal?.name ?: '') + #root")
        public void send(String email, int copies) {
        }
    }

    static class BadKeyService {
        @RateLimited(limit = 5, period = "1s", key = "#id +")
        public void call(String id) {
        }
    }
}
