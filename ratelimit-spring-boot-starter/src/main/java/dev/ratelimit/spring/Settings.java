package dev.ratelimit.spring;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * Turns {@link RateLimitProperties} into core values, failing on the first bad one with the
 * property's path and value, so that a mistake stops the application instead of a request.
 */
final class Settings {

    private Settings() {
    }

    /** Each tier's limits, in declaration order. */
    static Map<String, List<Limit>> tiers(RateLimitProperties properties) {
        Map<String, List<Limit>> tiers = new LinkedHashMap<>();
        properties.getTiers().forEach((name, tier) -> {
            String path = "ratelimit.tiers." + name + ".limits";
            if (tier.getLimits().isEmpty()) {
                throw invalid(path, "[]", "must list at least one limit");
            }
            List<RateLimitProperties.TierLimit> specs = tier.getLimits();
            Limit[] limits = new Limit[specs.size()];
            for (int i = 0; i < limits.length; i++) {
                limits[i] = limit(path + "[" + i + "]", specs.get(i));
            }
            tiers.put(name, List.of(limits));
        });
        // The headers name a tier's second limit <tier>-2, and so on; a tier of that name would
        // share it, and RateLimit-Policy would list only one of the two.
        tiers.forEach((name, limits) -> {
            for (int n = 2; n <= limits.size(); n++) {
                String taken = name + "-" + n;
                if (tiers.containsKey(taken)) {
                    throw invalid("ratelimit.tiers." + taken, taken, "is the name the RateLimit headers give limit " + n
                            + " of tier \"" + name + "\"; give the tier another name");
                }
            }
        });
        return tiers;
    }

    private static Limit limit(String path, RateLimitProperties.TierLimit spec) {
        checkAmount(path + ".limit", spec.getLimit());
        Duration period = spec.getPeriod();
        if (period == null) {
            throw invalid(path + ".period", "null", "must be set");
        }
        checkPeriod(path + ".period", period);
        long capacity = spec.getCapacity() != null ? spec.getCapacity() : spec.getLimit();
        checkAmount(path + ".capacity", capacity);
        return new Limit(spec.getLimit(), period, capacity);
    }

    /** Checks a number of permits the way {@link Limit} does, naming the property instead. */
    static void checkAmount(String path, long value) {
        if (value <= 0 || value > Limit.MAX_CAPACITY) {
            throw invalid(path, value, "must be between 1 and " + Limit.MAX_CAPACITY);
        }
    }

    /** Checks a period the way {@link Limit} does, naming the property instead. */
    static void checkPeriod(String path, Duration period) {
        if (period.compareTo(Limit.MIN_PERIOD) < 0 || period.compareTo(Limit.MAX_PERIOD) > 0) {
            throw invalid(path, format(period), "must be between 1ms and 365d");
        }
    }

    /** Checks the default tier, the API keys' tiers and the rules against the tiers. */
    static void check(RateLimitProperties properties, Map<String, List<Limit>> tiers) {
        String header = properties.getApiKeyHeader();
        if (!KeyExpressions.isHeaderName(header)) {
            // a blank or malformed name matches no request header, so every API key would go unseen
            throw invalid("ratelimit.api-key-header", header, "must be a header name, such as X-API-Key");
        }
        try {
            new URI(properties.getProblemType());
        } catch (URISyntaxException | NullPointerException e) {
            throw invalid("ratelimit.problem-type", properties.getProblemType(),
                    "must be a URI reference, such as about:blank or https://example.com/problems/rate-limit");
        }
        if (properties.getMemory().getMaxKeys() <= 0) {
            throw invalid("ratelimit.memory.max-keys", properties.getMemory().getMaxKeys(), "must be positive");
        }
        boolean tiersNeeded = !tiers.isEmpty() || !properties.getRules().isEmpty() || !properties.getApiKeys().isEmpty()
                || !properties.getApiKeyDigests().isEmpty();
        if (tiersNeeded && !tiers.containsKey(properties.getDefaultTier())) {
            throw unknownTier("ratelimit.default-tier", properties.getDefaultTier(), tiers);
        }
        properties.getApiKeys().forEach((key, tier) -> {
            if (!tiers.containsKey(tier)) {
                // The key itself stays out of the start-up log, as out of every other one.
                throw unknownTier("ratelimit.api-keys[sha256:" + ClientKeys.fingerprint(key) + "]", tier, tiers);
            }
        });
        Map<String, String> byDigest = new HashMap<>();
        properties.getApiKeyDigests().forEach((digest, tier) -> {
            String path = "ratelimit.api-key-digests[" + digest + "]";
            if (!ClientKeys.isDigest(digest)) {
                throw invalid(path, tier, "must be the SHA-256 of an API key in 64 hex digits, as sha256sum prints it");
            }
            if (!tiers.containsKey(tier)) {
                throw unknownTier(path, tier, tiers);
            }
            byDigest.put(digest.toLowerCase(Locale.ROOT), tier);
        });
        properties.getApiKeys().forEach((key, tier) -> {
            String other = byDigest.get(ClientKeys.digest(key));
            if (other != null && !other.equals(tier)) {
                throw invalid("ratelimit.api-keys[sha256:" + ClientKeys.fingerprint(key) + "]", tier,
                        "the key is also in ratelimit.api-key-digests, with tier \"" + other + "\"");
            }
        });
        Set<String> names = new HashSet<>();
        List<RateLimitProperties.Rule> rules = properties.getRules();
        for (int i = 0; i < rules.size(); i++) {
            RateLimitProperties.Rule rule = rules.get(i);
            String path = "ratelimit.rules[" + i + "]";
            if (rule.getName() == null || rule.getName().isBlank()) {
                throw invalid(path + ".name", rule.getName(), "must not be blank");
            }
            if (!names.add(rule.getName())) {
                throw invalid(path + ".name", rule.getName(), "must be unique; another rule has this name");
            }
            if (rule.getTier() != null && !tiers.containsKey(rule.getTier())) {
                throw unknownTier(path + ".tier", rule.getTier(), tiers);
            }
            Algorithm algorithm = rule.getAlgorithm() != null ? rule.getAlgorithm() : properties.getAlgorithm();
            Map<String, List<Limit>> applicable = rule.getTier() != null
                    ? Map.of(rule.getTier(), tiers.get(rule.getTier())) : tiers;
            checkCost(path + ".cost", rule.getCost(), applicable);
            // the property that chose the algorithm: the rule's own, or the default it fell back to
            String algorithmPath = rule.getAlgorithm() != null ? path + ".algorithm" : "ratelimit.algorithm";
            applicable.forEach((tier, limits) -> policy(algorithmPath, algorithm, tier, limits));
            // When another rule applies the same tier to a request, the headers name this rule's
            // policy <rule>-<tier>, and its further limits <rule>-<tier>-<n>: a tier of that name
            // would share it, and RateLimit-Policy would list only one of the two.
            String ruleName = rule.getName();
            applicable.forEach((tier, limits) -> {
                for (int n = 1; n <= limits.size(); n++) {
                    String taken = ruleName + "-" + tier + (n == 1 ? "" : "-" + n);
                    if (tiers.containsKey(taken)) {
                        throw invalid("ratelimit.tiers." + taken, taken, "is the name the RateLimit headers give "
                                + (n == 1 ? "" : "limit " + n + " of ") + "tier \"" + tier + "\" under rule \""
                                + ruleName + "\" when another rule applies that tier too; give the tier another name");
                    }
                }
            });
        }
    }

    /** Checks that {@code cost} fits every limit of every tier given, or no request could ever pass. */
    static void checkCost(String path, long cost, Map<String, List<Limit>> tiers) {
        checkAmount(path, cost);
        tiers.forEach((tier, limits) -> {
            for (Limit limit : limits) {
                if (cost > limit.capacity()) {
                    throw invalid(path, cost, "exceeds capacity " + limit.capacity() + " of tier \"" + tier
                            + "\", so no request could ever be admitted");
                }
            }
        });
    }

    /** Builds a policy, naming {@code path} if the algorithm cannot enforce these limits. */
    static Policy policy(String path, Algorithm algorithm, String tier, List<Limit> limits) {
        try {
            return new Policy(algorithm, limits);
        } catch (IllegalArgumentException e) {
            throw invalid(path, yamlName(algorithm), "cannot enforce tier \"" + tier + "\": " + e.getMessage());
        }
    }

    /** An algorithm as {@code application.yml} spells it: {@code sliding-window-log}. */
    private static String yamlName(Algorithm algorithm) {
        return algorithm.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    static InvalidConfigurationPropertyValueException unknownTier(String path, String tier, Map<String, ?> tiers) {
        return invalid(path, tier, "names no tier; tiers are " + tiers.keySet());
    }

    static InvalidConfigurationPropertyValueException invalid(String path, Object value, String reason) {
        return new InvalidConfigurationPropertyValueException(path, value, reason);
    }

    /** Prints a duration the way it is written in YAML, such as {@code -5s} or {@code 1500ms}. */
    static String format(Duration duration) {
        long nanos;
        try {
            nanos = duration.toNanos();
        } catch (ArithmeticException e) {
            return duration.toString();
        }
        if (nanos == 0) {
            return "0s";
        }
        long[] sizes = {86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L, 1_000L, 1L};
        String[] units = {"d", "h", "m", "s", "ms", "us", "ns"};
        for (int i = 0; i < sizes.length; i++) {
            if (nanos % sizes[i] == 0) {
                return nanos / sizes[i] + units[i];
            }
        }
        throw new AssertionError(nanos);
    }
}
