package dev.ratelimit.quickstart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.ratelimit.core.Ticker;
import dev.ratelimit.core.ManualTicker;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.webmvc.test.autoconfigure.AutoConfigureMockMvc;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.test.web.servlet.MockMvc;

/**
 * The README's quick start, verbatim: the application, controller and YAML below are the ones in
 * the README, which this test also checks. Two things are added for the test only:
 * Spring Security is excluded, as a fresh application does not have it (this module's tests do, and
 * its optional Actuator dependency adds Actuator's security configuration), and
 * a manual ticker stops time, so that a slow machine cannot refill a bucket mid-test.
 */
@SpringBootTest(classes = DemoApplication.class, properties = {
    "spring.config.location=classpath:quickstart/application.yml",
    "spring.autoconfigure.exclude=org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration,"
            + "org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration",
})
@AutoConfigureMockMvc
@Import(QuickStartTests.StoppedClock.class)
class QuickStartTests {

    private static final Path SOURCES = Path.of("src/test/java/dev/ratelimit/quickstart");

    @Autowired
    private MockMvc mvc;

    @Test
    void freeClientsGetTenAMinute() throws Exception {
        mvc.perform(get("/api/hello").with(from("192.0.2.1"))).andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy", "\"free\";q=10;w=60"))
                .andExpect(header().string("RateLimit", "\"free\";r=9;t=6"))
                .andExpect(header().string("X-RateLimit-Limit", "10"))
                .andExpect(header().string("X-RateLimit-Remaining", "9"))
                .andExpect(header().string("X-RateLimit-Reset", "6"));
        for (int i = 8; i >= 0; i--) {
            mvc.perform(get("/api/hello").with(from("192.0.2.1"))).andExpect(status().isOk())
                    .andExpect(header().string("X-RateLimit-Remaining", Integer.toString(i)));
        }
        mvc.perform(get("/api/hello").with(from("192.0.2.1"))).andExpect(status().isTooManyRequests())
                .andExpect(header().string("Retry-After", "6"));
    }

    @Test
    void thePremiumKeyGetsAHundred() throws Exception {
        mvc.perform(get("/api/hello").header("X-API-Key", "demo-premium-key").with(from("192.0.2.2")))
                .andExpect(status().isOk())
                .andExpect(header().string("RateLimit-Policy", "\"premium\";q=100;w=60"))
                .andExpect(header().string("X-RateLimit-Remaining", "99"));
    }

    @Test
    void theAnnotatedMethodAllowsOneReportPerTenSeconds() throws Exception {
        mvc.perform(get("/report").with(from("192.0.2.3"))).andExpect(status().isOk());
        mvc.perform(get("/report").with(from("192.0.2.3"))).andExpect(status().isTooManyRequests())
                .andExpect(header().string("Retry-After", "10"));
    }

    @Test
    void theDocumentationShowsExactlyTheseFiles() throws Exception {
        String doc = Files.readString(Path.of("../README.md"));
        assertThat(doc).contains(Files.readString(Path.of("src/test/resources/quickstart/application.yml")));
        assertThat(doc).contains(withoutPackage("DemoApplication.java"));
        assertThat(doc).contains(withoutPackage("HelloController.java"));
    }

    private static String withoutPackage(String file) throws Exception {
        String source = Files.readString(SOURCES.resolve(file));
        return source.substring(source.indexOf("\n\n") + 2);
    }

    private static org.springframework.test.web.servlet.request.RequestPostProcessor from(String address) {
        return request -> {
            request.setRemoteAddr(address);
            return request;
        };
    }

    @TestConfiguration
    static class StoppedClock {

        @Bean
        Ticker ticker() {
            return new ManualTicker();
        }
    }
}
