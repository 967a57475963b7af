package dev.ratelimit.spring;

import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Policy;
import java.util.Objects;

/**
 * One rule's verdict on one request.
 *
 * @param rule     the rule's name
 * @param tier     the tier whose limits applied, or null for a {@code @RateLimited} inline limit
 * @param key      the client key the limiter saw
 * @param policy   the algorithm and limits enforced
 * @param decision the limiter's decision
 */
public record RuleDecision(String rule, String tier, String key, Policy policy, Decision decision) {

    /** Validates the arguments; only {@code tier} may be null. */
    public RuleDecision {
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(decision, "decision");
    }

    /** The name clients see for this policy: the tier, or the rule for an inline limit. */
    public String policyName() {
        return tier != null ? tier : rule;
    }
}
