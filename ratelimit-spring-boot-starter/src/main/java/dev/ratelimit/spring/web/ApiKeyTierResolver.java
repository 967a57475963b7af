package dev.ratelimit.spring.web;

import dev.ratelimit.spring.ClientKeys;
import dev.ratelimit.spring.TierResolver;
import jakarta.servlet.http.HttpServletRequest;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The default {@link TierResolver}: looks the request's API key up in {@code ratelimit.api-keys}, and
 * its SHA-256 in {@code ratelimit.api-key-digests}.
 */
public final class ApiKeyTierResolver implements TierResolver {

    private final Map<String, String> tiersByKey;
    private final Map<String, String> tiersByDigest;
    private final String header;

    /**
     * The keys found by their digest, with their tiers, so that a known key is hashed once. Only a key
     * whose digest is listed gets here, so this holds at most as many keys as there are digests.
     */
    private final ConcurrentHashMap<String, String> tiersByDigestedKey = new ConcurrentHashMap<>();

    /**
     * Creates a resolver of keys given as they are.
     *
     * @param tiersByKey the tier of each API key
     * @param header     the request header carrying the API key
     */
    public ApiKeyTierResolver(Map<String, String> tiersByKey, String header) {
        this(tiersByKey, Map.of(), header);
    }

    /**
     * Creates a resolver of keys given as they are and by their digests.
     *
     * @param tiersByKey    the tier of each API key
     * @param tiersByDigest the tier of each API key given by its {@link ClientKeys#digest(String)}, in
     *                      either case
     * @param header        the request header carrying the API key
     * @throws IllegalArgumentException if a key of {@code tiersByDigest} is not 64 hex digits
     */
    public ApiKeyTierResolver(Map<String, String> tiersByKey, Map<String, String> tiersByDigest, String header) {
        this.tiersByKey = Map.copyOf(tiersByKey);
        Map<String, String> digests = new HashMap<>();
        tiersByDigest.forEach((digest, tier) -> {
            if (!ClientKeys.isDigest(digest)) {
                throw new IllegalArgumentException("tiersByDigest has key \"" + digest
                        + "\", which is not a SHA-256 in 64 hex digits");
            }
            digests.put(digest.toLowerCase(Locale.ROOT), Objects.requireNonNull(tier, "tier"));
        });
        this.tiersByDigest = Map.copyOf(digests);
        this.header = Objects.requireNonNull(header, "header");
    }

    @Override
    public String resolve(HttpServletRequest request) {
        String key = request.getHeader(header);
        if (key == null) {
            return null;
        }
        String tier = tiersByKey.get(key);
        if (tier != null || tiersByDigest.isEmpty()) {
            return tier;
        }
        tier = tiersByDigestedKey.get(key);
        if (tier == null) {
            // an unknown key is hashed on each request that sends it: a microsecond, and nothing kept
            tier = tiersByDigest.get(ClientKeys.digest(key));
            if (tier != null) {
                tiersByDigestedKey.put(key, tier);
            }
        }
        return tier;
    }
}
