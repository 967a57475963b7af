package dev.ratelimit.spring;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

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
     * The key as a limiter is handed it: {@code key} itself when it is at most
     * {@value #MAX_KEY_LENGTH} characters, else its source prefix and the SHA-256 of the whole key,
     * {@code header:sha256=<64 hex digits>}. A client may write its own key (a {@code header:} rule,
     * a SpEL key over a parameter or a method argument), and {@code memory.max-keys} bounds how many
     * keys a limiter keeps, not how long each is. A short key that has that form is digested too, so
     * that no key kept as it is can name the bucket of a long one.
     */
    static String bounded(String key) {
        int colon = key.indexOf(':');
        int start = colon < 0 ? 0 : colon + 1;
        if (key.length() <= MAX_KEY_LENGTH && !key.startsWith(DIGESTED, start)) {
            return key;
        }
        return key.substring(0, start) + DIGESTED + HexFormat.of().formatHex(sha256(key));
    }

    /** Longest key a limiter is handed as it is. */
    static final int MAX_KEY_LENGTH = 256;

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
