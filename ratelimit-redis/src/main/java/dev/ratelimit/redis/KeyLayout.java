package dev.ratelimit.redis;

import java.util.Objects;

/**
 * The Redis key of one client's state under one limiter: {@code <prefix>{<client>}:<algorithm>:<policy hash>}.
 *
 * <p>The braces are the cluster hash tag, so all of a client's keys live in one slot and one
 * script can touch them atomically. Client text is escaped ({@code %} {@code {} {@code }} become
 * {@code %25} {@code %7B} {@code %7D}), so no client can close the tag early, reach another
 * client's keys or another limiter's; the escape is injective, so distinct clients never share
 * a key. The prefix may not contain braces, which would move the tag.
 */
final class KeyLayout {

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
        while (i < client.length() && "%{}".indexOf(client.charAt(i)) < 0) {
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
                default -> escaped.append(c);
            }
        }
        return escaped.toString();
    }
}
