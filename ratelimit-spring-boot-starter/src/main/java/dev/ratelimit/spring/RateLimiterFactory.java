package dev.ratelimit.spring;

import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;

/**
 * Creates the limiter behind one rule and tier. The auto-configuration supplies an in-memory
 * factory; define a bean of this type to keep state elsewhere (Redis, for instance) without touching
 * the filter or the aspect.
 *
 * <p>Called once per rule and tier, the first time a request needs it; implementations must be
 * thread-safe.
 */
@FunctionalInterface
public interface RateLimiterFactory {

    /**
     * Returns a limiter enforcing {@code policy}.
     *
     * @param name   a stable name for the limiter, {@code rule} or {@code rule/tier} (a {@code %} or
     *               {@code /} in either written {@code %25} or {@code %2F}); unique per limiter
     * @param policy the algorithm and limits to enforce
     */
    RateLimiter create(String name, Policy policy);
}
