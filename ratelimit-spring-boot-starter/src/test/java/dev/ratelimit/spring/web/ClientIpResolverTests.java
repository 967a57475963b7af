package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.spring.RateLimitProperties.ForwardedHeader;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.mock.web.MockHttpServletRequest;

class ClientIpResolverTests {

    private static final List<String> TRUSTED = List.of("10.0.0.0/8", "2001:db8:ffff::/48");

    private final ClientIpResolver resolver = new ClientIpResolver(TRUSTED, 64, ForwardedHeader.X_FORWARDED_FOR);

    @ParameterizedTest(name = "reading {0}: peer {1}, XFF [{2}], Forwarded [{3}] -> {4}")
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        "X_FORWARDED_FOR | 192.0.2.1 | - | - | 192.0.2.1",
        "X_FORWARDED_FOR | 192.0.2.1 | 198.51.100.1 | - | 192.0.2.1",
        "FORWARDED | 192.0.2.1 | - | for=198.51.100.1 | 192.0.2.1",
        "X_FORWARDED_FOR | ::ffff:192.0.2.1 | - | - | 192.0.2.1",
        "X_FORWARDED_FOR | 2001:db8:1:2:3:4:5:6 | - | - | 2001:db8:1:2:0:0:0:0/64",
        // A NAT64 translator's well-known prefix carries an IPv4 client: grouped by /64, every such client would share one key.
        "X_FORWARDED_FOR | 64:ff9b::192.0.2.33 | - | - | 192.0.2.33",
        "X_FORWARDED_FOR | 10.1.1.1 | 64:ff9b::c633:6407 | - | 198.51.100.7",
        "X_FORWARDED_FOR | 64:ff9b:0:0:1::c000:221 | - | - | 64:ff9b:0:0:0:0:0:0/64",
        "X_FORWARDED_FOR | 10.1.1.1 | 198.51.100.1 | - | 198.51.100.1",
        "X_FORWARDED_FOR | 10.1.1.1 | 6.6.6.6, 198.51.100.1 | - | 198.51.100.1",
        "X_FORWARDED_FOR | 10.1.1.1 | 198.51.100.1, 10.2.2.2 | - | 198.51.100.1",
        "X_FORWARDED_FOR | 10.1.1.1 | 10.3.3.3, 10.2.2.2 | - | 10.3.3.3",
        "X_FORWARDED_FOR | 10.1.1.1 | 198.51.100.1:8080 | - | 198.51.100.1",
        "X_FORWARDED_FOR | 10.1.1.1 | unknown | - | 10.1.1.1",
        "X_FORWARDED_FOR | 10.1.1.1 | evil.example.com | - | 10.1.1.1",
        "X_FORWARDED_FOR | 10.1.1.1 | 999.1.1.1 | - | 10.1.1.1",
        "X_FORWARDED_FOR | 10.1.1.1 | ::ffff:198.51.100.7 | - | 198.51.100.7",
        "X_FORWARDED_FOR | 10.1.1.1 | 2001:db8:1:2::9 | - | 2001:db8:1:2:0:0:0:0/64",
        "X_FORWARDED_FOR | 2001:db8:ffff:1::1 | 198.51.100.4 | - | 198.51.100.4",
        // A proxy that appends X-Forwarded-For passes the client's own Forwarded through: it is not read.
        "X_FORWARDED_FOR | 10.1.1.1 | 198.51.100.1 | for=198.51.100.2 | 198.51.100.1",
        "X_FORWARDED_FOR | 10.1.1.1 | 198.51.100.7 | proto=https;host=example.com | 198.51.100.7",
        "X_FORWARDED_FOR | 10.1.1.1 | - | for=198.51.100.2 | 10.1.1.1",
        "FORWARDED | 10.1.1.1 | - | for=198.51.100.2 | 198.51.100.2",
        "FORWARDED | 10.1.1.1 | - | for=198.51.100.9, for=198.51.100.2;proto=https | 198.51.100.2",
        "FORWARDED | 10.1.1.1 | - | for=\"[2001:db8:1:2::9]:443\";proto=https | 2001:db8:1:2:0:0:0:0/64",
        "FORWARDED | 10.1.1.1 | - | for=198.51.100.3, for=_hidden | 10.1.1.1",
        "FORWARDED | 10.1.1.1 | 198.51.100.1 | - | 10.1.1.1",
        "FORWARDED | 10.1.1.1 | 198.51.100.1 | for=198.51.100.2 | 198.51.100.2",
        "FORWARDED | 10.1.1.1 | 198.51.100.7 | proto=https;host=example.com | 10.1.1.1",
        "X_FORWARDED_FOR | not-an-address | - | - | not-an-address",
    })
    void resolvesTheFirstUntrustedHopFromTheRightOfTheConfiguredHeader(ForwardedHeader reads, String peer, String xff,
            String forwarded, String expected) {
        MockHttpServletRequest request = new MockHttpServletRequest();
        request.setRemoteAddr(peer);
        if (xff != null) {
            request.addHeader("X-Forwarded-For", xff);
        }
        if (forwarded != null) {
            request.addHeader("Forwarded", forwarded);
        }
        assertThat(new ClientIpResolver(TRUSTED, 64, reads).resolve(request)).isEqualTo(expected);
    }

    /**
     * RFC 7239 values may be quoted strings, and a quoted string may hold ',' and ';'. A proxy that
     * quotes client text into its own element (the Host header as host="...", say) must not let that
     * text start an element or a for= pair of its own, or the client picks its address.
     */
    @ParameterizedTest(name = "Forwarded [{0}] -> {1}")
    @CsvSource(delimiter = '|', value = {
        "for=198.51.100.7;host=\"a.example,for=6.6.6.6;x=\" | 198.51.100.7",
        "for=198.51.100.7;host=\"a.example;for=6.6.6.6\" | 198.51.100.7",
        "for=198.51.100.7;host=\"a\\\",for=6.6.6.6;x=\\\"\" | 198.51.100.7",
        "for=\"198.51.100.7\";by=\"_p,q\" | 198.51.100.7",
        "for=\"[2001:db8:1:2::9]:443\";host=\"x,y\" | 2001:db8:1:2:0:0:0:0/64",
        "for=198.51.100.3, for=198.51.100.7;host=\",\" | 198.51.100.7",
        // An empty list element is no element (RFC 9110, 5.6.1), so it does not end the walk.
        "for=198.51.100.7, | 198.51.100.7",
    })
    void aQuotedValueCannotStartAnElementOrAPairOfItsOwn(String forwarded, String expected) {
        assertThat(behindTrustedProxy(forwarded)).isEqualTo(expected);
    }

    /**
     * A line whose quote is never closed tells nothing: had the client left it open, the proxy's
     * element appended to the line would sit inside the quote, and the client's for= would be read.
     */
    @ParameterizedTest(name = "Forwarded [{0}] -> {1}")
    @CsvSource(delimiter = '|', value = {
        "for=6.6.6.6;x=\", for=198.51.100.7 | 10.1.1.1",
        "for=6.6.6.6;x=\"\\, for=198.51.100.7 | 10.1.1.1",
        "for=\"198.51.100.7\\ | 10.1.1.1",
    })
    void aLineWithAQuoteLeftOpenEndsTheWalk(String forwarded, String expected) {
        assertThat(behindTrustedProxy(forwarded)).isEqualTo(expected);
    }

    /** The client IP of a request from the trusted proxy 10.1.1.1 that carries {@code forwarded}. */
    private static String behindTrustedProxy(String forwarded) {
        MockHttpServletRequest request = new MockHttpServletRequest();
        request.setRemoteAddr("10.1.1.1");
        request.addHeader("Forwarded", forwarded);
        return new ClientIpResolver(TRUSTED, 64, ForwardedHeader.FORWARDED).resolve(request);
    }

    @Test
    void aProxysOwnLineIsReadWhateverTheClientsLineHolds() {
        MockHttpServletRequest request = new MockHttpServletRequest();
        request.setRemoteAddr("10.1.1.1");
        request.addHeader("Forwarded", "for=6.6.6.6;x=\"");
        request.addHeader("Forwarded", "for=198.51.100.7");
        assertThat(new ClientIpResolver(TRUSTED, 64, ForwardedHeader.FORWARDED).resolve(request)).isEqualTo("198.51.100.7");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {"x-forwarded-for | 198.51.100.1", "forwarded | 198.51.100.2"})
    void forwardedHeaderPropertyNamesTheOneHeaderRead(String header, String expected) {
        WebRunners.runner(Object.class, "ratelimit.trusted-proxies=10.0.0.0/8", "ratelimit.forwarded-header=" + header)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    MockHttpServletRequest request = new MockHttpServletRequest();
                    request.setRemoteAddr("10.1.1.1");
                    request.addHeader("X-Forwarded-For", "198.51.100.1");
                    request.addHeader("Forwarded", "for=198.51.100.2");
                    assertThat(context.getBean(ClientIpResolver.class).resolve(request)).isEqualTo(expected);
                });
    }

    @Test
    void anUnknownForwardedHeaderStopsStartupNamingPropertyAndValue() {
        WebRunners.runner(Object.class, "ratelimit.forwarded-header=x-real-ip").run(context -> {
            assertThat(context).hasFailed();
            StringBuilder messages = new StringBuilder();
            for (Throwable t = context.getStartupFailure(); t != null; t = t.getCause()) {
                messages.append(t.getMessage()).append('\n');
            }
            assertThat(messages.toString())
                    .contains("Failed to bind properties under 'ratelimit.forwarded-header' to "
                            + ForwardedHeader.class.getName())
                    .contains("x-real-ip");
        });
    }

    @Test
    void fullLengthPrefixKeepsWholeIpv6Addresses() {
        MockHttpServletRequest request = new MockHttpServletRequest();
        request.setRemoteAddr("2001:db8::1");
        assertThat(new ClientIpResolver(List.of(), 128, ForwardedHeader.X_FORWARDED_FOR).resolve(request)).isEqualTo("2001:db8:0:0:0:0:0:1");
    }

    /** Random chains of trusted and untrusted hops: the answer is always the rightmost untrusted hop. */
    @Test
    void randomChainsResolveToTheRightmostUntrustedHop() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int run = 0; run < 500; run++) {
            List<String> hops = new ArrayList<>();
            int length = random.nextInt(5);
            for (int i = 0; i < length; i++) {
                hops.add(random.nextBoolean() ? "10." + random.nextInt(256) + ".0.1" : "198.51.100." + random.nextInt(256));
            }
            String peer = random.nextBoolean() ? "10.0.0.1" : "192.0.2.1";
            String expected = peer;
            if (peer.startsWith("10.")) {
                for (int i = hops.size() - 1; i >= 0; i--) {
                    expected = hops.get(i);
                    if (!expected.startsWith("10.")) {
                        break;
                    }
                }
            }
            MockHttpServletRequest request = new MockHttpServletRequest();
            request.setRemoteAddr(peer);
            if (!hops.isEmpty()) {
                request.addHeader("X-Forwarded-For", String.join(", ", hops));
            }
            assertThat(resolver.resolve(request)).as("peer %s, hops %s (seed %d)", peer, hops, seed).isEqualTo(expected);
        }
    }

    @org.junit.jupiter.api.Test
    void onlyCanonicalDottedIpv4SkipsParsing() {
        for (String canonical : new String[] {"0.0.0.0", "127.0.0.1", "192.0.2.255", "10.20.30.40"}) {
            org.assertj.core.api.Assertions.assertThat(ClientIpResolver.isCanonicalIpv4(canonical)).as(canonical).isTrue();
        }
        for (String other : new String[] {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", "1..3.4",
                "::1", "::ffff:1.2.3.4", "1.2.3.4:80", "a.b.c.d", "1234.1.1.1", "1.2.3.", null}) {
            org.assertj.core.api.Assertions.assertThat(ClientIpResolver.isCanonicalIpv4(other)).as(String.valueOf(other)).isFalse();
        }
    }
}
