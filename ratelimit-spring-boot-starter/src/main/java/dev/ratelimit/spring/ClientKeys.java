package dev.ratelimit.spring;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Client keys as they may be shown in logs and Actuator responses. A limiter key can carry a secret
 * ({@code key:<api key>}) or personal data from a header or an expression, so only the client IP
 * ({@code ip:}) and the authenticated user's name ({@code user:}) are shown as they are; any other
 * key keeps its source prefix and shows a fingerprint instead of its value.
 */
public final class ClientKeys {

    private ClientKeys() {
    }

    /**
     * Returns {@code key} safe to show: {@code ip:192.0.2.1} and {@code user:alice} unchanged,
     * {@code key:demo-premium-key} as {@code key:[sha256:24fdfedf]}, the first 8 hex digits of the
     * SHA-256 of the value. An operator who knows a key can compute its fingerprint to find it
     * (<code>printf %s 'demo-premium-key' | sha256sum | cut -c1-8</code>); the fingerprint does not
     * reveal the key.
     *
     * @throws NullPointerException if {@code key} is null
     */
    public static String redact(String key) {
        if (key.startsWith("ip:") || key.startsWith("user:")) {
            return key;
        }
        int colon = key.indexOf(':');
        String prefix = colon < 0 ? "" : key.substring(0, colon + 1);
        return prefix + "[sha256:" + fingerprint(key.substring(prefix.length())) + "]";
    }

    /** The first 8 hex digits of the SHA-256 of {@code value}'s UTF-8 bytes. */
    static String fingerprint(String value) {
        return HexFormat.of().formatHex(sha256(value), 0, 4);
    }

    /**
     * The SHA-256 of an API key's UTF-8 bytes in 64 lower-case hex digits, as
     * {@code ratelimit.api-key-digests} lists it and <code>printf %s '&lt;api key&gt;' | sha256sum</code>
     * prints it. Its first 8 digits are the key's fingerprint in {@link #redact(String)}.
     *
     * @throws NullPointerException if {@code apiKey} is null
     */
    public static String digest(String apiKey) {
        return HexFormat.of().formatHex(sha256(apiKey));
    }

    /** Whether {@code value} has the form of {@link #digest(String)}'s result, in either case. */
    public static boolean isDigest(String value) {
        return value.length() == 64 && value.chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }

    /**
     * The key as a limiter is handed it: {@code key} itself when it is at most
     * {@value #MAX_KEY_LENGTH} characters, else its source prefix and the SHA-256 of the whole key,
     * {@code header:sha256=<64 hex digits>}. A client may write its own key (a {@code header:} rule,
     * a SpEL key over a parameter or a method argument), and {@code memory.max-keys} bounds how many
     * keys a limiter keeps, not how long each is. A short key that has that form is digested too, so
     * that no key kept as it is can name the bucket of a long one.
     *
     * <p>An API key ({@code key:<api key>}) is always digested: it is a secret, and a Redis store
     * would otherwise write it into key names that {@code SCAN}, {@code MONITOR} and the slow log
     * show to whoever operates Redis. The digests of the few keys a deployment knows are kept, so
     * that a request costs no hashing.
     */
    static String bounded(String key) {
        int colon = key.indexOf(':');
        int start = colon < 0 ? 0 : colon + 1;
        boolean apiKey = key.startsWith(API_KEY);
        if (!apiKey && key.length() <= MAX_KEY_LENGTH && !key.startsWith(DIGESTED, start)) {
            return key;
        }
        if (apiKey) {
            String digest = API_KEY_DIGESTS.get(key);
            if (digest != null) {
                return digest;
            }
            digest = digested(key, start);
            if (API_KEY_DIGESTS.size() < MAX_API_KEY_DIGESTS) { // a TierResolver of the application's may know any key
                API_KEY_DIGESTS.put(key, digest);
            }
            return digest;
        }
        return digested(key, start);
    }

    private static String digested(String key, int start) {
        return key.substring(0, start) + DIGESTED + HexFormat.of().formatHex(sha256(key));
    }

    /** Longest key a limiter is handed as it is. */
    static final int MAX_KEY_LENGTH = 256;

    private static final String API_KEY = "key:";

    /** The API keys' digests, by key: at most {@link #MAX_API_KEY_DIGESTS}, some 2 MB. */
    private static final ConcurrentHashMap<String, String> API_KEY_DIGESTS = new ConcurrentHashMap<>();
    private static final int MAX_API_KEY_DIGESTS = 10_000;

    /** What marks a key handed to a limiter as a digest, after its source prefix. */
    private static final String DIGESTED = "sha256=";

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
