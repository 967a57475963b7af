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

    /**
     * The keys of {@code resolver} as rules and {@code @RateLimited} methods use them. This class's
     * keys are prefixed by their source already and kept as they are. Any other resolver's key gets
     * {@code custom:} in front, because its value may come from the client (the README's
     * {@code X-Tenant} header): unprefixed, {@code X-Tenant: ip:192.0.2.7} would spend that address's
     * permits. A null or blank key falls back to {@code ip:} and the client IP.
     *
     * @return a thread-safe resolver, if {@code resolver} is one, that never returns null or blank
     */
    public static ClientKeyResolver namespaced(ClientKeyResolver resolver, ClientIpResolver ips) {
        Objects.requireNonNull(resolver, "resolver");
        Objects.requireNonNull(ips, "ips");
        if (resolver instanceof DefaultClientKeyResolver) {
            return resolver;
        }
        return request -> {
            String key = resolver.resolve(request);
            return key == null || key.isBlank() ? "ip:" + ips.resolve(request) : "custom:" + key;
        };
    }

    /** The request's API key if the tier resolver recognises its client, else null. */
    static String knownApiKey(HttpServletRequest request, String header, TierResolver tiers) {
        String key = request.getHeader(header);
        return key != null && !key.isBlank() && tiers.resolve(request) != null ? key : null;
    }
}
