package dev.ratelimit.spring;

import dev.ratelimit.core.Decision;
import java.util.Objects;

/**
 * Thrown by a {@link RateLimited} method when a limit denies the call. In Spring MVC it becomes the
 * same 429 problem response, with the same headers, as a denial by the filter; elsewhere the caller
 * receives it.
 */
public final class RateLimitExceededException extends RuntimeException {

    private final transient RateLimitResult result;

    /**
     * Creates the exception.
     *
     * @param result a result that was denied
     * @throws IllegalArgumentException if {@code result} was not denied
     */
    public RateLimitExceededException(RateLimitResult result) {
        super(message(result));
        this.result = result;
    }

    private static String message(RateLimitResult result) {
        RuleDecision denial = Objects.requireNonNull(result, "result").denial()
                .orElseThrow(() -> new IllegalArgumentException("result must be a denial: " + result));
        return "Rate limit exceeded for policy \"" + denial.policyName() + "\" of rule \"" + denial.rule()
                + "\"; retry after " + denial.decision().retryAfter();
    }

    /** The denying rule's decision, with the time after which the call may be retried. */
    public Decision getDecision() {
        return getDenial().decision();
    }

    /** The denying rule, tier and decision. */
    public RuleDecision getDenial() {
        return result.denial().orElseThrow();
    }

    /** Every decision taken for the request, the denial last. */
    public RateLimitResult getResult() {
        return result;
    }
}
