package dev.ratelimit.spring.actuate;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.spring.ClientKeys;
import dev.ratelimit.spring.RateLimitEnforcer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.OperationResponseBody;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.Selector.Match;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.boot.actuate.endpoint.web.annotation.WebEndpoint;

/**
 * The {@code ratelimits} Actuator endpoint.
 *
 * <ul>
 *   <li>{@code GET /actuator/ratelimits}: every rule with its algorithm, shadow mode and limits.</li>
 *   <li>{@code GET /actuator/ratelimits/{rule}/{key}}: one client's figures in each policy of the
 *       rule, without consuming anything.</li>
 *   <li>{@code DELETE /actuator/ratelimits/{rule}/{key}}: forgets the client in every policy of the
 *       rule.</li>
 * </ul>
 *
 * <p>{@code {key}} is the limiter key as the rule builds it ({@code ip:192.0.2.1},
 * {@code key:<api key>}, {@code user:alice}); it may span several path segments, as a grouped IPv6
 * client does ({@code ip:2001:db8:0:1:0:0:0:0/64}), and so may {@code {rule}}, for a rule whose
 * name holds {@code /}: the longest rule name the path starts with is the rule. Keys are never
 * listed, and responses show them redacted ({@link ClientKeys#redact}).
 *
 * <p>Its access is read-only by default: the {@code DELETE} is a web operation only with
 * {@code management.endpoint.ratelimits.access: unrestricted}, so exposing the endpoint to look at
 * clients does not also let whoever reaches it reset their limits. Even so, expose it only where
 * operators alone can reach it.
 */
@WebEndpoint(id = "ratelimits", defaultAccess = Access.READ_ONLY)
public final class RateLimitsEndpoint {

    private static final Log LOG = LogFactory.getLog(RateLimitsEndpoint.class);

    private final RateLimitEnforcer enforcer;
    private final UnaryOperator<String> ips;

    /** Reports on and resets the limiters of {@code enforcer}; {@code ip:} keys are taken as written. */
    public RateLimitsEndpoint(RateLimitEnforcer enforcer) {
        this(enforcer, address -> null);
    }

    /**
     * Reports on and resets the limiters of {@code enforcer}. The address of an {@code ip:} key is
     * written as the filter writes it ({@code 2001:db8:0:1::/64} becomes the limiter key's
     * {@code 2001:db8:0:1:0:0:0:0/64}), so that an operator who writes it as addresses are usually
     * written finds the client, rather than an empty bucket that a reset answers 204 for.
     *
     * @param ips the canonical form of an address, or null to keep it as written
     */
    public RateLimitsEndpoint(RateLimitEnforcer enforcer, UnaryOperator<String> ips) {
        this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
        this.ips = Objects.requireNonNull(ips, "ips");
    }

    /** Every rule in force. */
    @ReadOperation
    public Rules rules() {
        return new Rules(enforcer.rules().stream().map(RulePayload::of).toList());
    }

    /**
     * One client's figures under {@code rule}; 404 for an unknown rule, 400 for a blank key, 503 when
     * the store cannot tell (Redis unreachable in failure mode {@code closed}, say).
     */
    @ReadOperation
    public WebEndpointResponse<Client> client(@Selector String rule, @Selector(match = Match.ALL_REMAINING) String... key) {
        Target target = target(rule, key);
        if (target.refusal() != 0) {
            return new WebEndpointResponse<>(target.refusal());
        }
        Map<String, Decision> decisions;
        try {
            decisions = enforcer.peek(target.rule(), target.key());
        } catch (RuntimeException e) {
            // the store's outage, not a fault of the endpoint: 503 as for a reset, not a 500
            LOG.warn("Peek under rule " + target.rule() + " failed: " + e.getMessage());
            return new WebEndpointResponse<>(WebEndpointResponse.STATUS_SERVICE_UNAVAILABLE);
        }
        Map<String, Figures> policies = new LinkedHashMap<>();
        decisions.forEach((policy, decision) -> policies.put(policy, Figures.of(decision)));
        return new WebEndpointResponse<>(new Client(target.rule(), ClientKeys.redact(target.key()), policies));
    }

    /**
     * Forgets a client under {@code rule}: 204, or 404 for an unknown rule, 400 for a blank key,
     * 503 when the store could not confirm the reset (Redis unreachable, say): the client's limits
     * may then be restored in some of the rule's tiers, or none, and trying again is safe.
     */
    @DeleteOperation
    public WebEndpointResponse<Void> reset(@Selector String rule, @Selector(match = Match.ALL_REMAINING) String... key) {
        Target target = target(rule, key);
        if (target.refusal() != 0) {
            return new WebEndpointResponse<>(target.refusal());
        }
        try {
            enforcer.reset(target.rule(), target.key());
        } catch (RuntimeException e) {
            // not a 204: an operator must not be told a reset happened that the store did not confirm
            LOG.warn("Reset under rule " + target.rule() + " failed: " + e.getMessage());
            return new WebEndpointResponse<>(WebEndpointResponse.STATUS_SERVICE_UNAVAILABLE);
        }
        return new WebEndpointResponse<>(WebEndpointResponse.STATUS_NO_CONTENT);
    }

    /** The rule and the client key a request names, or the status that refuses it. */
    private record Target(String rule, String key, int refusal) {
    }

    /**
     * Splits the path after {@code /actuator/ratelimits/} into a rule and a key. A rule's name may
     * hold {@code /} (a rule named {@code api/v1}), and a key may too (a grouped IPv6 client), so
     * the first segment alone does not name the rule: the longest rule name the path starts with,
     * followed by a {@code /}, does.
     */
    private Target target(String first, String[] rest) {
        String path = first + "/" + String.join("/", rest);
        String rule = null;
        for (RateLimitEnforcer.RuleView view : enforcer.rules()) {
            String name = view.name();
            if (path.startsWith(name + "/") && (rule == null || name.length() > rule.length())) {
                rule = name;
            }
        }
        if (rule == null) {
            return new Target(null, null, WebEndpointResponse.STATUS_NOT_FOUND);
        }
        String key = path.substring(rule.length() + 1);
        if (key.startsWith("ip:")) {
            String canonical = ips.apply(key.substring("ip:".length()));
            key = canonical == null ? key : "ip:" + canonical;
        }
        return new Target(rule, key, key.isBlank() ? WebEndpointResponse.STATUS_BAD_REQUEST : 0);
    }

    /** Algorithms as they are written in {@code application.yml}: {@code token-bucket}. */
    static String yamlName(Algorithm algorithm) {
        return algorithm.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The answer to {@code GET /actuator/ratelimits}. */
    public record Rules(List<RulePayload> rules) implements OperationResponseBody {
    }

    /**
     * One rule.
     *
     * @param tier     the tier every client gets, or null when each client gets its own
     * @param early    whether the rule runs in the early filter, before Spring Security's chain by default
     * @param policies each policy the rule may apply (a tier, or the rule's name for an inline limit)
     *                 with its limits
     */
    public record RulePayload(String name, String algorithm, String tier, boolean shadow, boolean early,
            Map<String, List<LimitPayload>> policies) {

        static RulePayload of(RateLimitEnforcer.RuleView rule) {
            Map<String, List<LimitPayload>> policies = new LinkedHashMap<>();
            rule.policies().forEach((name, policy) -> policies.put(name, LimitPayload.of(policy)));
            return new RulePayload(rule.name(), yamlName(rule.algorithm()), rule.tier(), rule.shadow(), rule.early(),
                    policies);
        }
    }

    /** One limit: {@code limit} permits per {@code period} (ISO-8601), bursts up to {@code capacity}. */
    public record LimitPayload(long limit, String period, long capacity) {

        static List<LimitPayload> of(Policy policy) {
            return policy.limits().stream().map(LimitPayload::of).toList();
        }

        static LimitPayload of(Limit limit) {
            return new LimitPayload(limit.permits(), limit.period().toString(), limit.capacity());
        }
    }

    /** The answer to {@code GET /actuator/ratelimits/{rule}/{key}}, the key redacted. */
    public record Client(String rule, String key, Map<String, Figures> policies) implements OperationResponseBody {
    }

    /**
     * A client's figures in one policy, as {@code peek} sees them; durations are ISO-8601.
     *
     * @param allowed whether one more permit would be admitted now
     */
    public record Figures(boolean allowed, long remaining, long limit, String retryAfter, String resetAfter) {

        static Figures of(Decision decision) {
            return new Figures(decision.allowed(), decision.remaining(), decision.limit(),
                    decision.retryAfter().toString(), decision.resetAfter().toString());
        }
    }
}
