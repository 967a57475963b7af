package dev.ratelimit.spring.web;

import dev.ratelimit.spring.ClientKeyResolver;
import dev.ratelimit.spring.TierResolver;
import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import java.util.Objects;

/**
 * The default {@link ClientKeyResolver}: {@code key:<api key>} for an API key the {@link TierResolver}
 * recognises, else {@code user:<name>} for an authenticated principal, else {@code ip:<address>}.
 * An unknown API key is ignored, so sending random keys cannot mint fresh buckets.
 */
public final class DefaultClientKeyResolver implements ClientKeyResolver {

    private final ClientIpResolver ips;
    private final TierResolver tiers;
    private final String apiKeyHeader;

    /**
     * Creates a resolver.
     *
     * @param ips          finds the client IP
     * @param tiers        says whether an API key is known
     * @param apiKeyHeader the request header carrying the API key
     */
    public DefaultClientKeyResolver(ClientIpResolver ips, TierResolver tiers, String apiKeyHeader) {
        this.ips = Objects.requireNonNull(ips, "ips");
        this.tiers = Objects.requireNonNull(tiers, "tiers");
        this.apiKeyHeader = Objects.requireNonNull(apiKeyHeader, "apiKeyHeader");
    }

    @Override
    public String resolve(HttpServletRequest request) {
        String apiKey = knownApiKey(request, apiKeyHeader, tiers);
        if (apiKey != null) {
            return "key:" + apiKey;
        }
        Principal principal = request.getUserPrincipal();
        if (principal != null && principal.getName() != null && !principal.getName().isBlank()) {
            return "user:" + principal.getName();
        }
        return "ip:" + ips.resolve(request);
    }

    /** The request's API key if the tier resolver recognises its client, else null. */
    static String knownApiKey(HttpServletRequest request, String header, TierResolver tiers) {
        String key = request.getHeader(header);
        return key != null && !key.isBlank() && tiers.resolve(request) != null ? key : null;
    }
}
