package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.core.ChildJvm;
import dev.ratelimit.spring.RateLimitProperties.ForwardedHeader;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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

    /**
     * Only literals are parsed, so no header value makes the server look a name up. Java's parser
     * takes text for a literal only when it starts with a hex digit or ':', and looks anything else
     * up, such as ".:1". Run in a JVM of its own whose name service is a hosts file naming ".:1", so
     * that a lookup shows as an address.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({".:1", ".::1", "..:", "[.:1]"})
    void textThatIsNoLiteralIsNeverLookedUp(String text, @TempDir Path dir) throws Exception {
        Path hosts = dir.resolve("hosts");
        Files.writeString(hosts, "203.0.113.9 .:1 .::1 ..:\n");
        String classPath = location(Cidr.class) + File.pathSeparator + location(NameProbe.class);
        ChildJvm.Result probe = ChildJvm.run(Duration.ofSeconds(60), List.of("-Djdk.net.hosts.file=" + hosts), classPath,
                NameProbe.class, text);
        String output = probe.output().trim();
        assertThat(probe.ended()).isTrue();
        assertThat(output).isEqualTo("address null, block refused");
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    /** Parses its argument as a peer or hop, and as a trusted block, and prints the outcome. */
    static final class NameProbe {

        public static void main(String[] args) {
            String block;
            try {
                block = "block " + Cidr.parse(args[0]);
            } catch (IllegalArgumentException e) {
                block = "block refused";
            }
            System.out.println("address " + Cidr.address(args[0]) + ", " + block);
        }
    }
}
