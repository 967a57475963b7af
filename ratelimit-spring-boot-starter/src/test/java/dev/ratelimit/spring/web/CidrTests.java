package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.spring.RateLimitProperties.ForwardedHeader;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.mock.web.MockHttpServletRequest;

/** Trusted blocks ({@code ratelimit.trusted-proxies}) as {@link Cidr} parses them. */
class CidrTests {

    /**
     * IPv4-mapped IPv6 counts as IPv4, for peers and hops and so for trusted blocks too: a block
     * written in the mapped form covers the same IPv4 addresses as its dotted twin, with the prefix
     * counted over all 128 bits as IPv6 writes it.
     */
    @ParameterizedTest(name = "trusted {0}, peer {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
        "::ffff:10.0.0.0/104 | 10.1.1.1 | 198.51.100.1",
        "::ffff:10.0.0.0/104 | ::ffff:10.1.1.1 | 198.51.100.1",
        "::ffff:10.0.0.0/104 | 11.1.1.1 | 11.1.1.1",
        "::ffff:a00:0/104 | 10.1.1.1 | 198.51.100.1",
        "::ffff:0:0/96 | 192.0.2.1 | 198.51.100.1",
        "::ffff:10.1.1.1/128 | 10.1.1.1 | 198.51.100.1",
        "::ffff:10.1.1.1/128 | 10.1.1.2 | 10.1.1.2",
        "::ffff:10.1.1.1 | 10.1.1.1 | 198.51.100.1",
    })
    void aTrustedBlockInIpv4MappedFormCoversItsIpv4Addresses(String trusted, String peer, String expected) {
        MockHttpServletRequest request = new MockHttpServletRequest();
        request.setRemoteAddr(peer);
        request.addHeader("X-Forwarded-For", "198.51.100.1");
        assertThat(new ClientIpResolver(List.of(trusted), 64, ForwardedHeader.X_FORWARDED_FOR).resolve(request))
                .isEqualTo(expected);
    }

    /** Below /96 a mapped block would reach past the mapped addresses into other IPv6 space: refused, not narrowed. */
    @Test
    void aMappedBlockShorterThan96BitsStopsStartupNamingPropertyAndValue() {
        assertThatThrownBy(() -> new ClientIpResolver(List.of("10.0.0.0/8", "::ffff:10.0.0.0/8"), 64,
                ForwardedHeader.X_FORWARDED_FOR))
                .isInstanceOf(InvalidConfigurationPropertyValueException.class)
                .hasMessageContaining("ratelimit.trusted-proxies[1]")
                .hasMessageContaining("::ffff:10.0.0.0/8")
                .hasMessageContaining("between 96 and 128");
    }
}
