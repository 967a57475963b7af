package dev.ratelimit.sample;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureTestRestTemplate;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Import;
import org.springframework.http.ResponseEntity;

/** The sample app with {@code ratelimit.shadow=true}: it decides and reports as usual, and never denies. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = "ratelimit.shadow=true")
@AutoConfigureTestRestTemplate
@Import(LoopbackTesting.class)
@ExtendWith(OutputCaptureExtension.class)
class ShadowModeTests {

    @Autowired
    private MeterRegistry meters;

    @Autowired
    private LoopbackClient client;

    @Test
    void shadowModeNeverAnswers429ButReportsEveryWouldBeDenial(CapturedOutput output) {
        RateLimitMeters counts = new RateLimitMeters(meters);
        for (int i = 0; i < 15; i++) {
            ResponseEntity<String> response = client.get("/api/hello");
            assertThat(response.getStatusCode().value()).isEqualTo(200);
            assertThat(response.getHeaders().getFirst("X-RateLimit-Remaining")).isEqualTo(Integer.toString(Math.max(0, 9 - i)));
            assertThat(response.getHeaders().containsHeader("Retry-After")).isFalse();
        }
        for (int i = 0; i < 6; i++) {
            assertThat(client.post("/api/reports").getStatusCode().value()).isEqualTo(200);
        }

        assertThat(counts.requests("hello", "free", "allowed")).isEqualTo(10);
        assertThat(counts.requests("hello", "free", "shadow_denied")).isEqualTo(5);
        assertThat(counts.requests("hello", "free", "denied")).isZero();
        assertThat(counts.requests("ApiController.report", "none", "shadow_denied")).isEqualTo(2);
        assertThat(output.getOut().lines().filter(line -> line.contains("Shadow mode, would deny rule=hello"))).hasSize(5);
        assertThat(JsonPath.<List<Boolean>>read(client.get("/actuator/ratelimits").getBody(), "$.rules[*].shadow"))
                .containsExactly(true, true);
    }
}
