package dev.ratelimit.spring;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.spring.RateLimitListener.Outcome;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Decides requests: the one place where the filter and {@link RateLimited} methods take permits.
 *
 * <p>Knows every rule (from {@code ratelimit.rules}, and those {@code @RateLimited} methods define)
 * and every tier, and keeps one {@link RateLimiter} per rule and tier, created by the
 * {@link RateLimiterFactory} on first use. Callers resolve the client key and tier, then call
 * {@link #enforce}. Thread-safe.
 *
 * <p>A rule in shadow mode decides as usual, but a denial is reported (to the listeners, and in one
 * DEBUG line) and then let through as an admission with no permits left. A denial consumes nothing,
 * so a shadowed rule's limiters hold the same state as if it were enforced. Every denial, shadowed
 * or not, logs one DEBUG line; nothing on the request path logs above DEBUG.
 */
public final class RateLimitEnforcer {

    private static final Log logger = LogFactory.getLog(RateLimitEnforcer.class);
    /** Where an inline rule keeps its one limiter; such a rule has no tiers, so nothing else is filed under it. */
    private static final String NO_TIER = "";

    private final RateLimiterFactory factory;
    private final List<RateLimitListener> listeners;
    private final Map<String, List<Limit>> tiers;
    private final String defaultTier;
    private final boolean shadow;
    private final Map<String, RuleDefinition> rules = new ConcurrentHashMap<>();
    /**
     * Limiters by rule, then by tier; an inline rule's one limiter under {@link #NO_TIER}. Two
     * lookups by strings whose hashes are cached, rather than one by a (rule, tier) record that
     * every request would allocate and hash anew.
     */
    private final Map<String, Map<String, RateLimiter>> limiters = new ConcurrentHashMap<>();


    /**
     * Validates the properties and registers their rules.
     *
     * @throws org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException
     *         naming the first bad property and its value
     */
    public RateLimitEnforcer(RateLimitProperties properties, RateLimiterFactory factory) {
        this(properties, factory, List.of());
    }

    /**
     * Validates the properties and registers their rules; every decision is reported to {@code listeners}.
     *
     * @throws org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException
     *         naming the first bad property and its value
     */
    public RateLimitEnforcer(RateLimitProperties properties, RateLimiterFactory factory,
            List<RateLimitListener> listeners) {
        this.factory = Objects.requireNonNull(factory, "factory");
        this.listeners = List.copyOf(listeners);
        this.tiers = Settings.tiers(properties);
        Settings.check(properties, tiers);
        this.defaultTier = properties.getDefaultTier();
        this.shadow = properties.isShadow();
        for (RateLimitProperties.Rule rule : properties.getRules()) {
            Algorithm algorithm = rule.getAlgorithm() != null ? rule.getAlgorithm() : properties.getAlgorithm();
            boolean ruleShadow = rule.getShadow() != null ? rule.getShadow() : shadow;
            rules.put(rule.getName(), new RuleDefinition(rule.getName(), algorithm, rule.getTier(), null, ruleShadow,
                    rule.isEarly()));
        }
        for (RuleDefinition rule : rules.values()) {
            prepare(rule, false);
        }
    }

    /**
     * Creates a rule's limiters now, one per tier it may apply, so that a store that cannot enforce
     * a policy (Redis refuses limits it cannot keep exact) stops start-up instead of failing a request.
     *
     * @param annotated whether a {@code @RateLimited} method defined the rule: then no property holds
     *                  it, so the refusal is an {@link IllegalArgumentException} for the caller to
     *                  name the method by, not an error about {@code ratelimit.rules}
     */
    private void prepare(RuleDefinition rule, boolean annotated) {
        Set<String> ruleTiers = rule.inline() != null ? Collections.singleton(null)
                : rule.tier() != null ? Set.of(rule.tier()) : tiers.keySet();
        for (String tier : ruleTiers) {
            try {
                limiter(rule.name(), tier);
            } catch (IllegalArgumentException e) {
                String reason = (tier == null ? "" : "with tier " + tier + ", ")
                        + "cannot be enforced by the configured store: " + e.getMessage();
                if (annotated) {
                    throw new IllegalArgumentException(reason, e);
                }
                throw new InvalidConfigurationPropertyValueException("ratelimit.rules", rule.name(), reason);
            }
        }
        RuleView view = view(rule);
        for (RateLimitListener listener : listeners) {
            listener.onRule(view);
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
     * Takes permits for each check, stopping at the first denial. A check that would deny goes
     * first, so a denied request takes nothing from the other rules (unless another request takes
     * the last permits between this one's look and its take). A rule in shadow mode
     * never denies: its would-be denial is reported and returned as an admission with no permits left,
     * and a failure of its limiter is reported and leaves it out of the result.
     *
     * @throws IllegalArgumentException if a check names an unknown rule or tier
     * @throws RuntimeException         whatever the limiter of a rule not in shadow mode throws, after
     *                                  the listeners have seen it
     */
    public RateLimitResult enforce(List<Check> checks) {
        if (checks.size() == 1) { // the usual case: one immutable element, no list to grow and copy
            RuleDecision ruled = decide(checks.get(0));
            return new RateLimitResult(ruled == null ? List.of() : List.of(ruled));
        }
        List<RuleDecision> decisions = new ArrayList<>(checks.size());
        for (Check check : denialFirst(checks)) {
            RuleDecision ruled = decide(check);
            if (ruled == null) {
                continue;
            }
            decisions.add(ruled);
            if (!ruled.decision().allowed()) {
                break;
            }
        }
        return new RateLimitResult(decisions);
    }

    /**
     * Takes permits for one check; a shadowed denial comes back as an admission with no permits left.
     * A shadowed rule whose limiter throws gives null, the rule left out of the result: shadow mode
     * never refuses a request, and a store that cannot decide (Redis in failure mode closed) would
     * refuse it with a 503.
     */
    private RuleDecision decide(Check check) {
        boolean shadowed = definition(check.rule()).shadow();
        RateLimiter limiter = limiter(check.rule(), check.tier());
        long start = listeners.isEmpty() ? 0 : System.nanoTime();
        Decision decision;
        try {
            decision = limiter.tryAcquire(ClientKeys.bounded(check.key()), check.cost());
        } catch (RuntimeException e) {
            long elapsed = listeners.isEmpty() ? 0 : System.nanoTime() - start;
            listeners.forEach(listener -> listener.onError(check, e, elapsed));
            if (!shadowed) {
                throw e;
            }
            if (logger.isDebugEnabled()) {
                logger.debug("Shadow mode, would fail rule=" + check.rule() + " tier="
                        + (check.tier() == null ? "none" : check.tier()) + " key=" + ClientKeys.redact(check.key())
                        + ": " + e);
            }
            return null;
        }
        RuleDecision ruled = new RuleDecision(check.rule(), check.tier(), check.key(), limiter.policy(), decision);
        Outcome outcome = decision.allowed() ? Outcome.ALLOWED : shadowed ? Outcome.SHADOW_DENIED : Outcome.DENIED;
        if (!listeners.isEmpty()) {
            long elapsed = System.nanoTime() - start;
            listeners.forEach(listener -> listener.onDecision(ruled, outcome, elapsed));
        }
        if (outcome == Outcome.ALLOWED) {
            return ruled;
        }
        logDenial(check, decision, outcome);
        if (outcome == Outcome.DENIED) {
            return ruled;
        }
        return new RuleDecision(check.rule(), check.tier(), check.key(), limiter.policy(),
                new Decision(true, 0, decision.limit(), 0, decision.resetAfterNanos()));
    }

    /**
     * With several checks, puts first the one that would deny now (by peeking, which consumes
     * nothing), so that a denied request takes no permits from the rules that would have admitted
     * it. Only a request racing for the same last permits can still slip between peek and take.
     */
    private List<Check> denialFirst(List<Check> checks) {
        if (checks.size() < 2) {
            return checks;
        }
        for (int i = 1; i < checks.size(); i++) {
            Check check = checks.get(i);
            if (!definition(check.rule()).shadow() && wouldDeny(check)) {
                List<Check> reordered = new ArrayList<>(checks);
                reordered.add(0, reordered.remove(i));
                return reordered;
            }
        }
        return checks;
    }

    /**
     * Whether taking the check's cost now would be denied: a leaky bucket admits only an empty queue.
     * A peek that throws (a store that cannot be reached) fails the request as a take would, so the
     * listeners hear of it as they do of a failed take, or the metrics would miss the error.
     */
    private boolean wouldDeny(Check check) {
        RateLimiter limiter = limiter(check.rule(), check.tier());
        long start = listeners.isEmpty() ? 0 : System.nanoTime();
        Decision peek;
        try {
            peek = limiter.peek(ClientKeys.bounded(check.key()));
        } catch (RuntimeException e) {
            long elapsed = listeners.isEmpty() ? 0 : System.nanoTime() - start;
            listeners.forEach(listener -> listener.onError(check, e, elapsed));
            throw e;
        }
        return limiter.policy().algorithm() == Algorithm.LEAKY_BUCKET ? !peek.allowed() : peek.remaining() < check.cost();
    }

    private static void logDenial(Check check, Decision decision, Outcome outcome) {
        if (logger.isDebugEnabled()) {
            logger.debug((outcome == Outcome.DENIED ? "Denied" : "Shadow mode, would deny") + " rule=" + check.rule()
                    + " tier=" + (check.tier() == null ? "none" : check.tier()) + " key=" + ClientKeys.redact(check.key())
                    + " cost=" + check.cost() + " retry-after=" + decision.retryAfter());
        }
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

    /**
     * A rule as it is enforced.
     *
     * @param name      the rule's name
     * @param algorithm the algorithm its limiters use
     * @param tier      the tier every client gets, or null when each client gets its own (or, for an
     *                  inline {@code @RateLimited} limit, when there is no tier)
     * @param inline    whether the rule is a {@code @RateLimited} method's own limit, whose checks carry no tier
     * @param shadow    whether the rule only reports would-be denials
     * @param early     whether the rule runs in the early filter ({@code ratelimit.rules[].early})
     * @param policies  what the rule enforces, by policy name: each tier it may apply, or the rule's
     *                  own name for an inline limit
     */
    public record RuleView(String name, Algorithm algorithm, String tier, boolean inline, boolean shadow,
            boolean early, Map<String, Policy> policies) {

        /** Copies the map. */
        public RuleView {
            policies = Collections.unmodifiableMap(new LinkedHashMap<>(policies));
        }
    }

    /** Every rule, those of {@code ratelimit.rules} and those {@code @RateLimited} methods define, by name. */
    public List<RuleView> rules() {
        List<RuleView> views = new ArrayList<>(rules.size());
        for (RuleDefinition definition : rules.values()) {
            views.add(view(definition));
        }
        views.sort(Comparator.comparing(RuleView::name));
        return views;
    }

    private RuleView view(RuleDefinition definition) {
        Map<String, Policy> policies = new LinkedHashMap<>();
        tiersOf(definition.name()).keySet().forEach(policy -> policies.put(policy,
                definition.inline() != null ? definition.inline() : policy(definition.name(), policy)));
        return new RuleView(definition.name(), definition.algorithm(), definition.tier(), definition.inline() != null,
                definition.shadow(), definition.early(), policies);
    }

    /**
     * What {@code rule} would decide for the client {@code key} now, consuming nothing: one decision
     * per policy the rule may apply (see {@link RuleView#policies}), since the tier a client gets is
     * known only from its request. A policy the client has not used shows full limits.
     *
     * @throws IllegalArgumentException if the rule is unknown or the key blank
     */
    public Map<String, Decision> peek(String rule, String key) {
        Map<String, Decision> figures = new LinkedHashMap<>();
        String bounded = ClientKeys.bounded(key);
        forEachLimiter(rule, (policy, limiter) -> figures.put(policy, limiter.peek(bounded)));
        return figures;
    }

    /**
     * Forgets the client {@code key} in every limiter of {@code rule}, whatever its tier, so that its
     * next request meets full limits.
     *
     * @throws IllegalArgumentException if the rule is unknown or the key blank
     */
    public void reset(String rule, String key) {
        Policy.checkKey(key);
        String bounded = ClientKeys.bounded(key);
        forEachLimiter(rule, (policy, limiter) -> limiter.reset(bounded));
    }

    private void forEachLimiter(String rule, BiConsumer<String, RateLimiter> action) {
        RuleDefinition definition = definition(rule);
        for (String policy : tiersOf(rule).keySet()) {
            action.accept(policy, limiter(rule, definition.inline() != null ? null : policy));
        }
    }

    boolean hasRule(String rule) {
        return rules.containsKey(rule);
    }

    /** Whether {@code rule} runs in the early filter, before authentication. */
    boolean isEarly(String rule) {
        return definition(rule).early();
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
     * @throws IllegalStateException    if a different rule of that name exists
     * @throws IllegalArgumentException if the store cannot enforce the rule's policies; the message
     *                                  says why, for the caller to prefix with the method
     */
    void define(String rule, Algorithm algorithm, String tier, Policy inline) {
        RuleDefinition definition = new RuleDefinition(rule, algorithm, tier, inline, shadow, false);
        RuleDefinition existing = rules.putIfAbsent(rule, definition);
        if (existing != null && !existing.equals(definition)) {
            throw new IllegalStateException("rule \"" + rule + "\" is already defined as " + existing);
        }
        if (existing == null) {
            try {
                prepare(definition, true);
            } catch (IllegalArgumentException e) {
                rules.remove(rule, definition); // never listed, nor enforced half-prepared
                throw e;
            }
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
        Map<String, RateLimiter> byTier = limiters.get(rule);
        RateLimiter limiter = byTier == null ? null : byTier.get(tier == null ? NO_TIER : tier);
        return limiter != null ? limiter
                : limiters.computeIfAbsent(rule, r -> new ConcurrentHashMap<>()).computeIfAbsent(
                        tier == null ? NO_TIER : tier,
                        t -> factory.create(tier == null ? namePart(rule) : namePart(rule) + "/" + namePart(tier),
                                policy(rule, tier)));
    }

    /**
     * A rule or tier name as part of a limiter name, '%' and '/' escaped: so rule "api/free" and
     * rule "api" under tier "free" never share a name, and with it a store's keys.
     */
    private static String namePart(String name) {
        return name.replace("%", "%25").replace("/", "%2F");
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

    /**
     * A rule's algorithm, either its fixed tier (null: the client's) or its own inline policy,
     * whether it is in shadow mode, and whether it runs in the early filter.
     */
    private record RuleDefinition(String name, Algorithm algorithm, String tier, Policy inline, boolean shadow,
            boolean early) {
    }
}
