package dev.ratelimit.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.core.Ticker;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Spring MVC's legacy matching ({@code spring.mvc.pathmatch.matching-strategy: ant_path_matcher},
 * still a Boot 4 option) routes on the path with its empty segments dropped: Tomcat's servlet path
 * merges {@code //} and strips {@code ;} parameters, and {@code UrlPathHelper} does the same. So
 * {@code //api/items} and {@code /;x=1/api/items} reach the {@code /api/items} handler, and a rule on
 * {@code /api/**} must count them. A real Tomcat, as MockMvc normalises nothing; requests are written
 * by hand so that no client tidies the path. One permit per hour, time stopped.
 */
@SpringBootTest(classes = AntPathMatcherOnTomcatTests.App.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = { "spring.mvc.pathmatch.matching-strategy=ant_path_matcher",
                "ratelimit.tiers.free.limits[0].limit=1", "ratelimit.tiers.free.limits[0].period=1h",
                "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**", "ratelimit.rules[0].key=ip",
                "ratelimit.exclude-paths=/public/**" })
class AntPathMatcherOnTomcatTests {

    @LocalServerPort
    int port;

    @Test
    void aPathWithEmptySegmentsIsLimitedLikeThePathItIsRoutedAs() throws Exception {
        assertThat(send("/public/x")).startsWith("HTTP/1.1 200").contains("public!").doesNotContain("X-RateLimit");
        assertThat(send("/api/items")).startsWith("HTTP/1.1 200").contains("items!")
                .contains("X-RateLimit-Remaining: 0");
        assertThat(send("//api/items")).startsWith("HTTP/1.1 429").doesNotContain("items!");
        assertThat(send("/api//items")).startsWith("HTTP/1.1 429").doesNotContain("items!");
        assertThat(send("/;x=1/api/items")).startsWith("HTTP/1.1 429").doesNotContain("items!");
        assertThat(send("/;/api/items")).startsWith("HTTP/1.1 429").doesNotContain("items!");
    }

    private String send(String path) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration(excludeName = {
            "org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
            "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
            "org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
            "org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration",
            "org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration" })
    static class App {

        @Bean
        Ticker ticker() {
            return new ManualTicker();
        }

        @Bean
        Api api() {
            return new Api();
        }
    }

    @RestController
    static class Api {

        @GetMapping("/api/items")
        String items() {
            return "items!";
        }

        @GetMapping("/public/x")
        String open() {
            return "public!";
        }
    }
}
