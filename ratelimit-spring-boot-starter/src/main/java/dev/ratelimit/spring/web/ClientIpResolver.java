package dev.ratelimit.spring.web;

import dev.ratelimit.spring.RateLimitProperties.ForwardedHeader;
import jakarta.servlet.http.HttpServletRequest;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * Finds the client IP of a request, believing forwarding headers only from trusted proxies.
 *
 * <p>The client is {@code request.getRemoteAddr()} unless that peer lies in a trusted CIDR. Then the
 * hops of the one forwarding header the proxies write ({@code X-Forwarded-For}, or the {@code for=}
 * parameters of RFC 7239's {@code Forwarded}) are read right to left, each hop replacing the client
 * while the previous one was trusted; the first untrusted hop is the client, since anything to its
 * left could be forged. The other header is never read: a proxy that appends to one passes the other
 * on as the client wrote it. IPv6 clients are grouped by prefix, because one host commonly owns a
 * whole /64; IPv4-mapped IPv6 counts as IPv4. Thread-safe.
 */
public final class ClientIpResolver {

    /** The NAT64 well-known prefix, {@code 64:ff9b::/96}. */
    private static final byte[] NAT64_PREFIX = {0, 0x64, (byte) 0xff, (byte) 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

    private final List<Cidr> trusted;
    private final int ipv6PrefixLength;
    private final ForwardedHeader header;

    /**
     * Creates a resolver that reads {@code X-Forwarded-For}.
     *
     * @throws InvalidConfigurationPropertyValueException naming {@code ratelimit.trusted-proxies[i]} or
     *                                                    {@code ratelimit.ipv6-prefix-length} when invalid
     */
    public ClientIpResolver(List<String> trustedProxies, int ipv6PrefixLength) {
        this(trustedProxies, ipv6PrefixLength, ForwardedHeader.X_FORWARDED_FOR);
    }

    /**
     * Creates a resolver that reads {@code header} from trusted proxies.
     *
     * @throws InvalidConfigurationPropertyValueException naming {@code ratelimit.trusted-proxies[i]} or
     *                                                    {@code ratelimit.ipv6-prefix-length} when invalid
     */
    public ClientIpResolver(List<String> trustedProxies, int ipv6PrefixLength, ForwardedHeader header) {
        List<Cidr> cidrs = new ArrayList<>();
        for (int i = 0; i < trustedProxies.size(); i++) {
            String cidr = trustedProxies.get(i);
            try {
                cidrs.add(Cidr.parse(cidr == null ? "" : cidr));
            } catch (IllegalArgumentException e) {
                throw new InvalidConfigurationPropertyValueException("ratelimit.trusted-proxies[" + i + "]", cidr,
                        "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32: " + e.getMessage());
            }
        }
        if (ipv6PrefixLength < 1 || ipv6PrefixLength > 128) {
            throw new InvalidConfigurationPropertyValueException("ratelimit.ipv6-prefix-length", ipv6PrefixLength,
                    "must be between 1 and 128");
        }
        this.trusted = List.copyOf(cidrs);
        this.ipv6PrefixLength = ipv6PrefixLength;
        this.header = Objects.requireNonNull(header, "header");
    }

    /**
     * Returns the client's address: dotted IPv4, or an IPv6 prefix such as
     * {@code 2001:db8:0:1:0:0:0:0/64}. A peer address that is not an IP literal is returned as is.
     */
    public String resolve(HttpServletRequest request) {
        String remote = request.getRemoteAddr();
        if (trusted.isEmpty() && isCanonicalIpv4(remote)) {
            return remote; // the common case needs no parsing: no proxy to look behind, nothing to group
        }
        InetAddress client = Cidr.address(remote == null ? "" : remote);
        if (client == null) {
            return String.valueOf(remote);
        }
        if (isTrusted(client)) {
            List<String> hops = hops(request);
            for (int i = hops.size() - 1; i >= 0 && isTrusted(client); i--) {
                InetAddress hop = Cidr.address(stripPort(hops.get(i)));
                if (hop == null) {
                    break; // "unknown", an obfuscated identifier or garbage: the trusted proxy is all we know
                }
                client = hop;
            }
        }
        return group(client);
    }

    /**
     * The client key value {@link #resolve} gives an address written by hand, for the Actuator
     * endpoint: {@code 2001:db8:0:1::9}, {@code 2001:db8:0:1::/64} and {@code 2001:DB8:0:1:0:0:0:0/64}
     * all name the group {@code 2001:db8:0:1:0:0:0:0/64}, and {@code ::ffff:192.0.2.1} is
     * {@code 192.0.2.1}. A prefix length after the address is dropped: the group is the configured one.
     *
     * @return the canonical form, or null if {@code text} is not an IP literal
     */
    public String canonical(String text) {
        int slash = text.indexOf('/');
        InetAddress address = Cidr.address(slash < 0 ? text : text.substring(0, slash));
        return address == null ? null : group(address);
    }

    /**
     * Whether {@code s} is a dotted IPv4 address exactly as {@link InetAddress#getHostAddress()}
     * would print it (four decimal octets up to 255, no leading zeros), so it can serve as the key
     * unparsed.
     */
    static boolean isCanonicalIpv4(String s) {
        if (s == null) {
            return false;
        }
        int octets = 0;
        int i = 0;
        int n = s.length();
        while (i < n && octets < 4) {
            int start = i;
            int value = 0;
            while (i < n && i - start < 3 && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                value = value * 10 + (s.charAt(i) - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && s.charAt(start) == '0')) {
                return false;
            }
            octets++;
            if (octets < 4) {
                if (i >= n || s.charAt(i) != '.') {
                    return false;
                }
                i++;
            }
        }
        return octets == 4 && i == n;
    }

    private boolean isTrusted(InetAddress address) {
        for (Cidr cidr : trusted) {
            if (cidr.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /** The hops of the configured header, leftmost first. */
    private List<String> hops(HttpServletRequest request) {
        return header == ForwardedHeader.FORWARDED ? forwardedHops(request) : xForwardedForHops(request);
    }

    /**
     * The {@code for=} values of {@code Forwarded}, unquoted; an element without one is an empty hop,
     * which ends the walk, since the proxy that wrote it did not say whom it served. A ',' or ';'
     * inside a quoted string (RFC 7239 values may be quoted) separates nothing: a proxy may quote
     * client text, such as the Host header, into its own element, and that text must not start an
     * element or a {@code for=} pair of its own. Empty list elements are ignored, as RFC 9110 asks.
     */
    private static List<String> forwardedHops(HttpServletRequest request) {
        List<String> hops = new ArrayList<>();
        for (String header : Collections.list(request.getHeaders("Forwarded"))) {
            forwardedHops(header, hops);
        }
        return hops;
    }

    /**
     * Adds the hops of one {@code Forwarded} line. A line whose last quoted string is not closed is
     * one empty hop: a client that leaves a quote open would otherwise swallow the element a proxy
     * appends to its line, and the walk would stop at the client's own {@code for=} instead.
     */
    private static void forwardedHops(String header, List<String> hops) {
        int first = hops.size();
        String value = null; // the element's for= value so far; null while the element is empty
        int start = 0;
        boolean quoted = false;
        for (int i = 0; i <= header.length(); i++) {
            char c = i < header.length() ? header.charAt(i) : ',';
            if (i == header.length() && quoted) {
                hops.subList(first, hops.size()).clear();
                hops.add("");
                return;
            }
            if (quoted) {
                if (c == '\\' && i + 1 < header.length()) {
                    i++;
                } else if (c == '"') {
                    quoted = false;
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ';' || c == ',') {
                String pair = header.substring(start, i).trim();
                if (!pair.isEmpty()) {
                    String forValue = forValue(pair);
                    value = forValue != null ? forValue : value == null ? "" : value;
                }
                start = i + 1;
                if (c == ',') {
                    if (value != null) {
                        hops.add(value);
                    }
                    value = null;
                }
            }
        }
    }

    /** The unquoted value of a {@code for=} pair, or null for any other pair. */
    private static String forValue(String pair) {
        int eq = pair.indexOf('=');
        if (eq <= 0 || !pair.substring(0, eq).trim().equalsIgnoreCase("for")) {
            return null;
        }
        String value = pair.substring(eq + 1).trim();
        if (value.length() < 2 || value.charAt(0) != '"' || value.charAt(value.length() - 1) != '"') {
            return value;
        }
        StringBuilder unquoted = new StringBuilder(value.length());
        for (int i = 1; i < value.length() - 1; i++) {
            char c = value.charAt(i);
            if (c == '\\' && i + 1 < value.length() - 1) {
                c = value.charAt(++i);
            }
            unquoted.append(c);
        }
        return unquoted.toString();
    }

    private static List<String> xForwardedForHops(HttpServletRequest request) {
        List<String> hops = new ArrayList<>();
        for (String header : Collections.list(request.getHeaders("X-Forwarded-For"))) {
            for (String hop : header.split(",")) {
                hops.add(hop.trim());
            }
        }
        return hops;
    }

    /** Drops a port: {@code [2001:db8::1]:443} and {@code 192.0.2.1:80}; a bare IPv6 address stays. */
    private static String stripPort(String hop) {
        if (hop.startsWith("[")) {
            int close = hop.indexOf(']');
            return close > 0 ? hop.substring(0, close + 1) : hop;
        }
        int colon = hop.indexOf(':');
        return colon > 0 && colon == hop.lastIndexOf(':') ? hop.substring(0, colon) : hop;
    }

    private String group(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address.getHostAddress();
        }
        byte[] bytes = address.getAddress();
        if (Arrays.equals(bytes, 0, NAT64_PREFIX.length, NAT64_PREFIX, 0, NAT64_PREFIX.length)) {
            // A translator in front of an IPv6-only service writes every IPv4 client into this one
            // /96 (RFC 6052): grouped by prefix, all of the IPv4 Internet would share a single key.
            // As IPv4, the client also shares its key with the same host reaching us directly.
            return (bytes[12] & 0xff) + "." + (bytes[13] & 0xff) + "." + (bytes[14] & 0xff) + "." + (bytes[15] & 0xff);
        }
        if (ipv6PrefixLength == 128) {
            return address.getHostAddress();
        }
        try {
            return InetAddress.getByAddress(Cidr.mask(address.getAddress(), ipv6PrefixLength)).getHostAddress()
                    + "/" + ipv6PrefixLength;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // cannot happen: the array has 16 bytes
        }
    }
}
