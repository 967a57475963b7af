package dev.ratelimit.sample;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import dev.ratelimit.core.ManualTicker;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureTestRestTemplate;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Import;
import org.springframework.http.ResponseEntity;

/**
 * What operators see: the meters, the {@code ratelimits} endpoint (list, peek, reset) and the log.
 * Shares the application context of {@link DemoContractTests}, so meters are compared before and
 * after each scenario.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureTestRestTemplate
@Import(LoopbackTesting.class)
@ExtendWith(OutputCaptureExtension.class)
class OperationsTests {

    private static final String PREMIUM_KEY = "demo-premium-key";

    @Autowired
    private ManualTicker ticker;

    @Autowired
    private MeterRegistry meters;

    @Autowired
    private LoopbackClient client;

    private RateLimitMeters counts;

    @BeforeEach
    void aDayLaterEveryBucketIsFull() {
        counts = new RateLimitMeters(meters);
        ticker.advance(Duration.ofDays(1));
    }

    @Test
    void theCounterAndTimerRecordEveryDecisionByRuleTierAndOutcome() {
        double allowed = counts.requests("hello", "free", "allowed");
        double denied = counts.requests("hello", "free", "denied");
        double premium = counts.requests("hello", "premium", "allowed");
        double reportsDenied = counts.requests("ApiController.report", "none", "denied");
        long timed = counts.decisions("hello");

        for (int i = 0; i < 12; i++) {
            client.get("/api/hello");
        }
        client.get("/api/hello", "X-API-Key", PREMIUM_KEY);
        for (int i = 0; i < 5; i++) {
            client.post("/api/reports");
        }

        assertThat(counts.requests("hello", "free", "allowed") - allowed).isEqualTo(10);
        assertThat(counts.requests("hello", "free", "denied") - denied).isEqualTo(2);
        assertThat(counts.requests("hello", "premium", "allowed") - premium).isEqualTo(1);
        assertThat(counts.requests("ApiController.report", "none", "denied") - reportsDenied).isEqualTo(1);
        assertThat(counts.decisions("hello") - timed).isEqualTo(13);
    }

    @Test
    void noMeterIsTaggedWithAClientKey() {
        client.get("/api/hello", "X-API-Key", PREMIUM_KEY);
        client.get("/api/hello");
        List<Meter> ours = meters.getMeters().stream().filter(m -> m.getId().getName().startsWith("ratelimit.")).toList();
        assertThat(ours).isNotEmpty();
        assertThat(ours).flatExtracting(m -> m.getId().getTags()).extracting(Tag::getKey)
                .containsOnly("rule", "tier", "outcome");
        assertThat(ours).flatExtracting(m -> m.getId().getTags()).extracting(Tag::getValue)
                .noneMatch(value -> value.contains(PREMIUM_KEY) || value.contains("127.0.0.1"));
    }

    @Test
    void prometheusAndTheMetricsEndpointShowTheMeters() {
        for (int i = 0; i < 11; i++) {
            client.get("/api/hello");
        }
        String scrape = client.get("/actuator/prometheus").getBody();
        assertThat(scrape).containsPattern("ratelimit_requests_total\\{outcome=\"denied\",rule=\"hello\",tier=\"free\"} \\d+")
                .contains("ratelimit_decision_seconds_count{rule=\"hello\"}");
        ResponseEntity<String> metric = client.get("/actuator/metrics/ratelimit.requests?tag=rule:hello&tag=outcome:denied");
        assertThat(metric.getStatusCode().value()).isEqualTo(200);
        assertThat(JsonPath.<Double>read(metric.getBody(), "$.measurements[0].value")).isPositive();
        assertThat(client.get("/actuator/health").getBody()).contains("\"status\":\"UP\"");
    }

    @Test
    void theEndpointListsEveryRuleWithItsTiersAlgorithmAndLimits() {
        ResponseEntity<String> response = client.get("/actuator/ratelimits");
        assertThat(response.getStatusCode().value()).isEqualTo(200);
        String body = response.getBody();
        assertThat(JsonPath.<List<String>>read(body, "$.rules[*].name")).containsExactly("ApiController.report", "hello");
        assertThat(JsonPath.<String>read(body, "$.rules[1].algorithm")).isEqualTo("token-bucket");
        assertThat(JsonPath.<Boolean>read(body, "$.rules[1].shadow")).isFalse();
        assertThat(JsonPath.<Boolean>read(body, "$.rules[1].early")).isFalse();
        assertThat(JsonPath.<Map<String, Object>>read(body, "$.rules[1]")).as("each client gets its own tier")
                .doesNotContainKey("tier");
        assertThat(JsonPath.<Map<String, Object>>read(body, "$.rules[1].policies")).containsOnlyKeys("free", "premium");
        assertThat(JsonPath.<Map<String, Object>>read(body, "$.rules[1].policies.free[0]"))
                .isEqualTo(Map.of("limit", 10, "period", "PT1M", "capacity", 10));
        assertThat(JsonPath.<Map<String, Object>>read(body, "$.rules[1].policies.premium[0]"))
                .isEqualTo(Map.of("limit", 100, "period", "PT1M", "capacity", 100));
        assertThat(JsonPath.<Map<String, Object>>read(body, "$.rules[0].policies['ApiController.report'][0]"))
                .isEqualTo(Map.of("limit", 20, "period", "PT1M", "capacity", 20));
        assertThat(body).doesNotContain("127.0.0.1").doesNotContain(PREMIUM_KEY);
    }

    @Test
    void theEndpointShowsOneClientWithoutConsumingAndResetsIt() {
        for (int i = 0; i < 3; i++) {
            client.get("/api/hello");
        }
        String path = "/actuator/ratelimits/hello/" + LoopbackClient.CLIENT;
        for (int look = 0; look < 2; look++) {
            ResponseEntity<String> response = client.get(path);
            assertThat(response.getStatusCode().value()).isEqualTo(200);
            assertThat(JsonPath.<String>read(response.getBody(), "$.key")).isEqualTo("ip:127.0.0.1");
            assertThat(JsonPath.<Integer>read(response.getBody(), "$.policies.free.remaining")).isEqualTo(7);
            assertThat(JsonPath.<Integer>read(response.getBody(), "$.policies.free.limit")).isEqualTo(10);
            assertThat(JsonPath.<Boolean>read(response.getBody(), "$.policies.free.allowed")).isTrue();
            assertThat(JsonPath.<Integer>read(response.getBody(), "$.policies.premium.remaining")).isEqualTo(100);
        }
        for (int i = 0; i < 8; i++) {
            client.get("/api/hello");
        }
        ResponseEntity<String> exhausted = client.get(path);
        assertThat(JsonPath.<Boolean>read(exhausted.getBody(), "$.policies.free.allowed")).isFalse();
        assertThat(JsonPath.<String>read(exhausted.getBody(), "$.policies.free.retryAfter")).isEqualTo("PT6S");

        assertThat(client.delete(path).getStatusCode().value()).isEqualTo(204);
        assertThat(JsonPath.<Integer>read(client.get(path).getBody(), "$.policies.free.remaining")).isEqualTo(10);
        ResponseEntity<String> again = client.get("/api/hello");
        assertThat(again.getStatusCode().value()).isEqualTo(200);
        assertThat(again.getHeaders().getFirst("X-RateLimit-Remaining")).isEqualTo("9");
    }

    @Test
    void theEndpointNeverEchoesAnApiKey() {
        client.get("/api/hello", "X-API-Key", PREMIUM_KEY);
        ResponseEntity<String> response = client.get("/actuator/ratelimits/hello/key:" + PREMIUM_KEY);
        assertThat(response.getStatusCode().value()).isEqualTo(200);
        assertThat(response.getBody()).doesNotContain(PREMIUM_KEY);
        assertThat(JsonPath.<String>read(response.getBody(), "$.key")).isEqualTo("key:[sha256:24fdfedf]");
        assertThat(JsonPath.<Integer>read(response.getBody(), "$.policies.premium.remaining")).isEqualTo(99);
    }

    @Test
    void theEndpointAnswers404ForAnUnknownRule() {
        assertThat(client.get("/actuator/ratelimits/nope/ip:127.0.0.1").getStatusCode().value()).isEqualTo(404);
        assertThat(client.delete("/actuator/ratelimits/nope/ip:127.0.0.1").getStatusCode().value()).isEqualTo(404);
    }

    @Test
    void aKeyMaySpanPathSegmentsAsAGroupedIpv6ClientDoes() {
        ResponseEntity<String> response = client.get("/actuator/ratelimits/hello/ip:2001:db8:0:1:0:0:0:0/64");
        assertThat(response.getStatusCode().value()).isEqualTo(200);
        assertThat(JsonPath.<String>read(response.getBody(), "$.key")).isEqualTo("ip:2001:db8:0:1:0:0:0:0/64");
    }

    @Test
    void eachDenialLogsOneDebugLineWithoutTheApiKeyAndNothingIsLoggedAtInfo(CapturedOutput output) {
        client.get("/actuator/health"); // the first request initialises Spring MVC, which logs at INFO
        int start = output.getOut().length();
        for (int i = 0; i < 12; i++) {
            client.get("/api/hello");
        }
        for (int i = 0; i < 101; i++) {
            client.get("/api/hello", "X-API-Key", PREMIUM_KEY);
        }
        String log = output.getOut().substring(start);
        assertThat(log.lines().filter(line -> line.contains("Denied rule=hello tier=free key=ip:127.0.0.1 cost=1")))
                .hasSize(2);
        assertThat(log.lines().filter(line -> line.contains("Denied rule=hello tier=premium key=key:[sha256:24fdfedf]")))
                .hasSize(1);
        assertThat(log.lines().filter(line -> line.contains("Denied"))).hasSize(3)
                .allSatisfy(line -> assertThat(line).contains("DEBUG"));
        assertThat(log).doesNotContain(PREMIUM_KEY).doesNotContain(" INFO ").doesNotContain(" WARN ");
    }
}
