package dev.ratelimit.spring;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides requests: the one place where the filter and {@link RateLimited} methods take permits.
 *
 * <p>Knows every rule (from {@code ratelimit.rules}, and those {@code @RateLimited} methods define)
 * and every tier, and keeps one {@link RateLimiter} per rule and tier, created by the
 * {@link RateLimiterFactory} on first use. Callers resolve the client key and tier, then call
 * {@link #enforce}. Thread-safe.
 */
public final class RateLimitEnforcer {

    private final RateLimiterFactory factory;
    private final Map<String, List<Limit>> tiers;
    private final String defaultTier;
    private final Map<String, RuleDefinition> rules = new ConcurrentHashMap<>();
    private final Map<LimiterId, RateLimiter> limiters = new ConcurrentHashMap<>();

    /**
     * Validates the properties and registers their rules.
     *
     * @throws org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException
     *         naming the first bad property and its value
     */
    public RateLimitEnforcer(RateLimitProperties properties, RateLimiterFactory factory) {
        this.factory = Objects.requireNonNull(factory, "factory");
        this.tiers = Settings.tiers(properties);
        Settings.check(properties, tiers);
        this.defaultTier = properties.getDefaultTier();
        for (RateLimitProperties.Rule rule : properties.getRules()) {
            Algorithm algorithm = rule.getAlgorithm() != null ? rule.getAlgorithm() : properties.getAlgorithm();
            rules.put(rule.getName(), new RuleDefinition(rule.getName(), algorithm, rule.getTier(), null));
        }
    }

    /**
     * A request for permits.
     *
     * @param rule the rule's name
     * @param tier the tier whose limits apply (see {@link #tierFor}), or null for an inline rule
     * @param key  the client key
     * @param cost the permits to take
     */
    public record Check(String rule, String tier, String key, long cost) {

        /** Validates the arguments; only {@code tier} may be null. */
        public Check {
            Objects.requireNonNull(rule, "rule");
            Objects.requireNonNull(key, "key");
        }
    }

    /**
     * Takes permits for each check in order, stopping at the first denial. Permits taken by earlier
     * checks stay taken: rules are independent, as if each had its own filter.
     *
     * @throws IllegalArgumentException if a check names an unknown rule or tier
     */
    public RateLimitResult enforce(List<Check> checks) {
        List<RuleDecision> decisions = new ArrayList<>(checks.size());
        for (Check check : checks) {
            RateLimiter limiter = limiter(check.rule(), check.tier());
            Decision decision = limiter.tryAcquire(check.key(), check.cost());
            decisions.add(new RuleDecision(check.rule(), check.tier(), check.key(), limiter.policy(), decision));
            if (!decision.allowed()) {
                break;
            }
        }
        return new RateLimitResult(decisions);
    }

    /**
     * The tier whose limits {@code rule} applies to a client: the rule's own tier if it has one,
     * else {@code clientTier}, else the default tier; null for an inline rule.
     *
     * @throws IllegalArgumentException if the rule is unknown
     * @throws IllegalStateException    if {@code clientTier} names no tier
     */
    public String tierFor(String rule, String clientTier) {
        RuleDefinition definition = definition(rule);
        if (definition.inline() != null) {
            return null;
        }
        if (definition.tier() != null) {
            return definition.tier();
        }
        if (clientTier == null) {
            return defaultTier;
        }
        if (!tiers.containsKey(clientTier)) {
            throw new IllegalStateException("TierResolver returned \"" + clientTier + "\", which names no tier; tiers are "
                    + tiers.keySet());
        }
        return clientTier;
    }

    /** The names of the configured tiers. */
    public Set<String> tiers() {
        return tiers.keySet();
    }

    boolean hasRule(String rule) {
        return rules.containsKey(rule);
    }

    /** The tiers a rule may apply, for checking a cost against their capacities. */
    Map<String, List<Limit>> tiersOf(String rule) {
        RuleDefinition definition = definition(rule);
        if (definition.inline() != null) {
            return Map.of(rule, definition.inline().limits());
        }
        return definition.tier() != null ? Map.of(definition.tier(), tiers.get(definition.tier())) : tiers;
    }

    /**
     * Registers a rule defined by an annotation; registering the same definition twice is harmless.
     *
     * @throws IllegalStateException if a different rule of that name exists
     */
    void define(String rule, Algorithm algorithm, String tier, Policy inline) {
        RuleDefinition definition = new RuleDefinition(rule, algorithm, tier, inline);
        RuleDefinition existing = rules.putIfAbsent(rule, definition);
        if (existing != null && !existing.equals(definition)) {
            throw new IllegalStateException("rule \"" + rule + "\" is already defined as " + existing);
        }
    }

    private RuleDefinition definition(String rule) {
        RuleDefinition definition = rules.get(rule);
        if (definition == null) {
            throw new IllegalArgumentException("rule names no rule: \"" + rule + "\"; rules are " + rules.keySet());
        }
        return definition;
    }

    private RateLimiter limiter(String rule, String tier) {
        LimiterId id = new LimiterId(rule, tier);
        RateLimiter limiter = limiters.get(id);
        return limiter != null ? limiter
                : limiters.computeIfAbsent(id, i -> factory.create(tier == null ? rule : rule + "/" + tier, policy(rule, tier)));
    }

    private Policy policy(String rule, String tier) {
        RuleDefinition definition = definition(rule);
        if (definition.inline() != null) {
            return definition.inline();
        }
        List<Limit> limits = tiers.get(tier);
        if (limits == null) {
            throw new IllegalArgumentException("tier names no tier: \"" + tier + "\"; tiers are " + tiers.keySet());
        }
        return new Policy(definition.algorithm(), limits);
    }

    private record LimiterId(String rule, String tier) {
    }

    /** A rule's algorithm and either its fixed tier (null: the client's) or its own inline policy. */
    private record RuleDefinition(String name, Algorithm algorithm, String tier, Policy inline) {
    }
}
