package dev.ratelimit.spring;

import java.util.Locale;

/**
 * Observes every decision the {@link RateLimitEnforcer} takes, for metrics or auditing. The
 * auto-configuration passes every bean of this type to the enforcer, in order; the Micrometer meters
 * are one.
 *
 * <p>Called on the request thread, once per rule consulted, so implementations must be fast,
 * thread-safe and must not throw. {@link RuleDecision#key()} is the raw client key, which may hold an
 * API key: pass it through {@link ClientKeys#redact} before it leaves the process, and never use it
 * as a metric tag.
 */
public interface RateLimitListener {

    /**
     * The enforcer registered a rule: those of {@code ratelimit.rules} while it is being built, a
     * {@code @RateLimited} method's own when the aspect checks the annotated methods at start-up
     * (or on the first call, for a bean created later, such as a lazy one). Lets a listener set up
     * what it keeps per rule before the first decision. Does nothing by default.
     *
     * @param rule the rule as it is enforced
     */
    default void onRule(RateLimitEnforcer.RuleView rule) {
    }

    /**
     * A limiter decided.
     *
     * @param decision     the rule, tier, key and the limiter's own decision (still denied for
     *                     {@link Outcome#SHADOW_DENIED}, so that its retry time is known)
     * @param outcome      {@link Outcome#ALLOWED}, {@link Outcome#DENIED} or {@link Outcome#SHADOW_DENIED}
     * @param elapsedNanos time the limiter took to decide
     */
    void onDecision(RuleDecision decision, Outcome outcome, long elapsedNanos);

    /**
     * A limiter failed, for instance because its store was unreachable; the error then propagates
     * to the caller. Does nothing by default.
     *
     * @param check        what was asked
     * @param error        what the limiter threw
     * @param elapsedNanos time until it threw
     */
    default void onError(RateLimitEnforcer.Check check, RuntimeException error, long elapsedNanos) {
    }

    /** What became of one rule's check. */
    enum Outcome {
        /** The limiter admitted the request. */
        ALLOWED,
        /** The limiter denied the request, and it was denied. */
        DENIED,
        /** The limiter denied the request, but its rule is in shadow mode, so it passed. */
        SHADOW_DENIED,
        /** The limiter threw instead of deciding. */
        ERROR;

        private final String tag = name().toLowerCase(Locale.ROOT);

        /** The lower-case name, as used in metric tags: {@code shadow_denied}. */
        public String tag() {
            return tag;
        }
    }
}
