package dev.ratelimit.spring.web;

import dev.ratelimit.spring.TierResolver;
import jakarta.servlet.http.HttpServletRequest;
import java.util.Map;
import java.util.Objects;

/** The default {@link TierResolver}: looks the request's API key up in {@code ratelimit.api-keys}. */
public final class ApiKeyTierResolver implements TierResolver {

    private final Map<String, String> tiersByKey;
    private final String header;

    /**
     * Creates a resolver.
     *
     * @param tiersByKey the tier of each API key
     * @param header     the request header carrying the API key
     */
    public ApiKeyTierResolver(Map<String, String> tiersByKey, String header) {
        this.tiersByKey = Map.copyOf(tiersByKey);
        this.header = Objects.requireNonNull(header, "header");
    }

    @Override
    public String resolve(HttpServletRequest request) {
        String key = request.getHeader(header);
        return key == null ? null : tiersByKey.get(key);
    }
}
