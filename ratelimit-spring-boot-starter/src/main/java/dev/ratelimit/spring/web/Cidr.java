package dev.ratelimit.spring.web;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * A block of addresses such as {@code 10.0.0.0/8} or {@code 2001:db8::/32}, and the address parsing
 * the filter relies on. Parsing never touches DNS: only literals are accepted, so a header value
 * cannot make the server look a name up.
 */
final class Cidr {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    /**
     * Text that {@link InetAddress#getByName} parses as a literal, never looks up: it starts with a hex
     * digit or ':' and has a colon. Starting with anything else (".:1"), it would be resolved as a name.
     */
    private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:][0-9a-fA-F:.]*");

    private final byte[] network;
    private final int prefix;

    private Cidr(byte[] network, int prefix) {
        this.network = network;
        this.prefix = prefix;
    }

    /**
     * Parses {@code address/prefix}, or a lone address (a block of one).
     *
     * @throws IllegalArgumentException if the text is not such a block
     */
    static Cidr parse(String text) {
        int slash = text.indexOf('/');
        String literal = slash < 0 ? text.trim() : text.substring(0, slash).trim();
        InetAddress address = address(literal);
        if (address == null) {
            throw new IllegalArgumentException("not an IP address");
        }
        int bits = address.getAddress().length * 8;
        // An IPv4-mapped block (::ffff:10.0.0.0/104) comes back as IPv4, as mapped peers and hops do,
        // so its prefix, counted over IPv6's 128 bits, is counted over IPv4's 32 instead.
        int offset = address instanceof Inet4Address && literal.indexOf(':') >= 0 ? 96 : 0;
        int prefix = bits;
        if (slash >= 0) {
            try {
                prefix = Integer.parseInt(text.substring(slash + 1).trim()) - offset;
            } catch (NumberFormatException e) {
                prefix = -1;
            }
            if (prefix < 0 || prefix > bits) {
                throw new IllegalArgumentException("prefix length must be between " + offset + " and " + (bits + offset)
                        + (offset == 0 ? "" : " for an IPv4-mapped block, or write it in IPv4"));
            }
        }
        return new Cidr(mask(address.getAddress(), prefix), prefix);
    }

    boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        return bytes.length == network.length && java.util.Arrays.equals(mask(bytes, prefix), network);
    }

    /**
     * Parses an IP literal: dotted IPv4, or IPv6 with optional brackets and zone. IPv4-mapped IPv6
     * comes back as IPv4. Returns null for anything else, including host names.
     */
    static InetAddress address(String text) {
        String s = text.trim();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        int zone = s.indexOf('%');
        if (zone >= 0) {
            s = s.substring(0, zone);
        }
        try {
            if (IPV4.matcher(s).matches()) {
                byte[] bytes = new byte[4];
                String[] parts = s.split("\\.");
                for (int i = 0; i < 4; i++) {
                    int octet = Integer.parseInt(parts[i]);
                    if (octet > 255) {
                        return null;
                    }
                    bytes[i] = (byte) octet;
                }
                return InetAddress.getByAddress(bytes);
            }
            // With a colon, getByName parses an IPv6 literal or fails; it never resolves a name.
            if (s.indexOf(':') >= 0 && IPV6.matcher(s).matches()) {
                InetAddress address = InetAddress.getByName(s);
                return address instanceof Inet4Address || address instanceof Inet6Address ? address : null;
            }
        } catch (UnknownHostException e) {
            return null;
        }
        return null;
    }

    static byte[] mask(byte[] address, int prefix) {
        byte[] masked = address.clone();
        for (int i = 0; i < masked.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            masked[i] &= (byte) (0xFF << (8 - keep));
        }
        return masked;
    }
}
