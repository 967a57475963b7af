package dev.ratelimit.spring;

import jakarta.servlet.http.HttpServletRequest;

/**
 * Tells clients apart: requests with the same key share one bucket per rule and tier.
 *
 * <p>The auto-configured resolver uses a known API key, else the authenticated principal, else the
 * client IP (see {@code ratelimit.trusted-proxies}). Rules without a {@code key}, and
 * {@code @RateLimited} methods without one, use this bean; define your own to replace it.
 * Implementations must be thread-safe.
 */
@FunctionalInterface
public interface ClientKeyResolver {

    /**
     * Returns the key for this request's client. A null or blank key falls back to the client IP,
     * so that a client cannot escape its limit by sending nothing.
     */
    String resolve(HttpServletRequest request);
}
