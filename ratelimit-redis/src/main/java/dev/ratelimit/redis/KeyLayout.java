package dev.ratelimit.redis;

import java.util.Objects;

/**
 * The Redis key of one client's state under one limiter: {@code <prefix>{<client>}:<algorithm>:<policy hash>}.
 *
 * <p>The braces are the cluster hash tag, so all of a client's keys live in one slot and one
 * script can touch them atomically. Client text is escaped ({@code %} {@code {} {@code }} become
 * {@code %25} {@code %7B} {@code %7D}), so no client can close the tag early, reach another
 * client's keys or another limiter's. An unpaired UTF-16 surrogate, which UTF-8 cannot encode
 * (Lettuce would write {@code ?}), becomes {@code %u} and its four upper-case hex digits. Since
 * every {@code %} of the text is escaped, each escape reads back one way: the escape is injective,
 * so distinct clients never share a key, and text without those characters is kept as it is.
 * The prefix may not contain braces, which would move the tag.
 */
final class KeyLayout {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private final String prefix;
    private final String suffix;

    KeyLayout(String prefix, String stateName) {
        this.prefix = checkPrefix(prefix);
        this.suffix = "}:" + stateName;
    }

    static String checkPrefix(String prefix) {
        Objects.requireNonNull(prefix, "keyPrefix");
        if (prefix.indexOf('{') >= 0 || prefix.indexOf('}') >= 0) {
            throw new IllegalArgumentException("keyPrefix must not contain '{' or '}', which would change the"
                    + " cluster hash tag: " + prefix);
        }
        return prefix;
    }

    /** The key of {@code client}'s state: one key, since every algorithm keeps one. */
    String key(String client) {
        return prefix + "{" + escape(client) + suffix;
    }

    static String escape(String client) {
        int i = 0;
        while (i < client.length() && plain(client.charAt(i))) {
            i++;
        }
        if (i == client.length()) {
            return client;
        }
        StringBuilder escaped = new StringBuilder(client.length() + 8).append(client, 0, i);
        for (; i < client.length(); i++) {
            char c = client.charAt(i);
            switch (c) {
                case '%' -> escaped.append("%25");
                case '{' -> escaped.append("%7B");
                case '}' -> escaped.append("%7D");
                default -> {
                    if (Character.isHighSurrogate(c) && i + 1 < client.length()
                            && Character.isLowSurrogate(client.charAt(i + 1))) {
                        escaped.append(c).append(client.charAt(++i)); // a pair: one code point, UTF-8 has it
                    } else if (Character.isSurrogate(c)) {
                        escaped.append("%u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 0xF])
                                .append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
                    } else {
                        escaped.append(c);
                    }
                }
            }
        }
        return escaped.toString();
    }

    /** Whether {@code c} stands for itself; a surrogate is checked for its pair on the slow path. */
    private static boolean plain(char c) {
        return c != '%' && c != '{' && c != '}' && !Character.isSurrogate(c);
    }
}
