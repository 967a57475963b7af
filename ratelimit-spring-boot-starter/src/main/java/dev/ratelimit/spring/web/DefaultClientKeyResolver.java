package dev.ratelimit.spring.web;

import dev.ratelimit.spring.ClientKeyResolver;
import dev.ratelimit.spring.TierResolver;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
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

    /**
     * The request's API key if the tier resolver recognises the client by it, else null. A resolver
     * may know a client by something else, its principal say, and would then name a tier whatever key
     * came along: each made-up key would get a bucket of its own. So a resolver other than
     * {@link ApiKeyTierResolver} (which reads nothing but the key) is asked again with the key hidden,
     * and the key counts only if the answer changes.
     */
    static String knownApiKey(HttpServletRequest request, String header, TierResolver tiers) {
        String key = request.getHeader(header);
        if (key == null || key.isBlank()) {
            return null;
        }
        String tier = tiers.resolve(request);
        if (tier == null) {
            return null;
        }
        return tiers instanceof ApiKeyTierResolver || !tier.equals(tiers.resolve(new WithoutHeader(request, header)))
                ? key : null;
    }

    /** The request as it would be without one header. */
    private static final class WithoutHeader extends HttpServletRequestWrapper {

        private final String header;

        WithoutHeader(HttpServletRequest request, String header) {
            super(request);
            this.header = header;
        }

        @Override
        public String getHeader(String name) {
            return header.equalsIgnoreCase(name) ? null : super.getHeader(name);
        }

        @Override
        public Enumeration<String> getHeaders(String name) {
            return header.equalsIgnoreCase(name) ? Collections.emptyEnumeration() : super.getHeaders(name);
        }

        @Override
        public Enumeration<String> getHeaderNames() {
            List<String> names = new ArrayList<>();
            for (String name : Collections.list(super.getHeaderNames())) {
                if (!header.equalsIgnoreCase(name)) {
                    names.add(name);
                }
            }
            return Collections.enumeration(names);
        }

        @Override
        public long getDateHeader(String name) {
            return header.equalsIgnoreCase(name) ? -1 : super.getDateHeader(name);
        }

        @Override
        public int getIntHeader(String name) {
            return header.equalsIgnoreCase(name) ? -1 : super.getIntHeader(name);
        }
    }
}
