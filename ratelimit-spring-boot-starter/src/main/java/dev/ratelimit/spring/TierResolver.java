package dev.ratelimit.spring;

import jakarta.servlet.http.HttpServletRequest;

/**
 * Picks the tier, and so the limits, of a request's client.
 *
 * <p>The auto-configured resolver looks the API key up in {@code ratelimit.api-keys}. Return null for
 * a client you do not recognise: it then gets {@code ratelimit.default-tier}, and an API key it sent
 * counts as unknown, so it is limited by IP rather than by that key. Implementations must be
 * thread-safe.
 */
@FunctionalInterface
public interface TierResolver {

    /** Returns the name of a configured tier, or null when the client has no tier of its own. */
    String resolve(HttpServletRequest request);
}
