package dev.ratelimit.sample;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import dev.ratelimit.core.ManualTicker;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureTestRestTemplate;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.ResponseEntity;

/**
 * The demo contract, over HTTP against the running app: exact counts of 200 and 429, the headers, the
 * premium key, and that neither forwarding headers nor made-up API keys get a client more.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureTestRestTemplate
@Import(LoopbackTesting.class)
class DemoContractTests {

    @Autowired
    private ManualTicker ticker;

    @Autowired
    private LoopbackClient client;

    @BeforeEach
    void aDayLaterEveryBucketIsFull() {
        ticker.advance(Duration.ofDays(1));
    }

    @Test
    void helloAllowsTenRequestsAMinuteWithoutAKey() {
        ResponseEntity<String> first = client.get("/api/hello");
        assertThat(first.getStatusCode().value()).isEqualTo(200);
        assertThat(JsonPath.<String>read(first.getBody(), "$.message")).isEqualTo("Hello!");
        assertThat(first.getHeaders().getFirst("RateLimit-Policy")).isEqualTo("\"free\";q=10;w=60");
        assertThat(first.getHeaders().getFirst("RateLimit")).isEqualTo("\"free\";r=9;t=6");
        assertThat(first.getHeaders().getFirst("X-RateLimit-Limit")).isEqualTo("10");
        assertThat(first.getHeaders().getFirst("X-RateLimit-Remaining")).isEqualTo("9");
        for (int remaining = 8; remaining >= 0; remaining--) {
            ResponseEntity<String> response = client.get("/api/hello");
            assertThat(response.getStatusCode().value()).isEqualTo(200);
            assertThat(response.getHeaders().getFirst("X-RateLimit-Remaining")).isEqualTo(Integer.toString(remaining));
        }

        ResponseEntity<String> denied = client.get("/api/hello");
        assertThat(denied.getStatusCode().value()).isEqualTo(429);
        assertThat(denied.getHeaders().getFirst("Retry-After")).isEqualTo("6");
        assertThat(denied.getHeaders().getFirst("Content-Type")).isEqualTo("application/problem+json");
        assertThat(JsonPath.<String>read(denied.getBody(), "$.detail"))
                .isEqualTo("Rate limit of policy \"free\" exceeded; retry in 6 seconds.");
        assertThat(client.get("/api/hello").getStatusCode().value()).isEqualTo(429);

        ticker.advance(Duration.ofSeconds(6).minusNanos(1));
        assertThat(client.get("/api/hello").getStatusCode().value()).as("one nanosecond early").isEqualTo(429);
        ticker.advanceNanos(1);
        assertThat(client.get("/api/hello").getStatusCode().value()).isEqualTo(200);
        assertThat(client.get("/api/hello").getStatusCode().value()).isEqualTo(429);
    }

    @Test
    void thePremiumKeyGetsAHundredAMinute() {
        assertThat(statuses(10, "/api/hello")).isEqualTo(new Statuses(10, 0));
        assertThat(client.get("/api/hello").getStatusCode().value()).isEqualTo(429);

        ResponseEntity<String> first = client.get("/api/hello", "X-API-Key", "demo-premium-key");
        assertThat(first.getStatusCode().value()).isEqualTo(200);
        assertThat(first.getHeaders().getFirst("RateLimit-Policy")).isEqualTo("\"premium\";q=100;w=60");
        assertThat(first.getHeaders().getFirst("X-RateLimit-Remaining")).isEqualTo("99");
        assertThat(statuses(100, "/api/hello", "X-API-Key", "demo-premium-key")).isEqualTo(new Statuses(99, 1));
    }

    @Test
    void aSpoofedForwardedForChangesNothing() {
        for (int i = 0; i < 10; i++) {
            String spoofed = "203.0.113." + i;
            assertThat(client.get("/api/hello", "X-Forwarded-For", spoofed, "Forwarded", "for=" + spoofed)
                    .getStatusCode().value()).isEqualTo(200);
        }
        assertThat(client.get("/api/hello", "X-Forwarded-For", "203.0.113.99").getStatusCode().value()).isEqualTo(429);
    }

    @Test
    void madeUpApiKeysShareTheClientIpsBucket() {
        for (int i = 0; i < 10; i++) {
            assertThat(client.get("/api/hello", "X-API-Key", "guess-" + i).getStatusCode().value()).isEqualTo(200);
        }
        ResponseEntity<String> denied = client.get("/api/hello", "X-API-Key", "guess-10");
        assertThat(denied.getStatusCode().value()).isEqualTo(429);
        assertThat(denied.getHeaders().getFirst("RateLimit-Policy")).isEqualTo("\"free\";q=10;w=60");
    }

    @Test
    void aReportCostsFiveOfTwentyPermitsAMinuteSoFourPass() {
        for (int remaining = 15; remaining >= 0; remaining -= 5) {
            ResponseEntity<String> response = client.post("/api/reports");
            assertThat(response.getStatusCode().value()).isEqualTo(200);
            assertThat(response.getHeaders().getFirst("RateLimit-Policy")).isEqualTo("\"ApiController.report\";q=20;w=60");
            assertThat(response.getHeaders().getFirst("X-RateLimit-Remaining")).isEqualTo(Integer.toString(remaining));
        }
        ResponseEntity<String> denied = client.post("/api/reports");
        assertThat(denied.getStatusCode().value()).isEqualTo(429);
        assertThat(denied.getHeaders().getFirst("Retry-After")).as("five permits at one per 3 s").isEqualTo("15");

        assertThat(statuses(4, "/api/reports", "X-API-Key", "demo-premium-key"))
                .as("another client has its own reports").isEqualTo(new Statuses(4, 0));
        ticker.advance(Duration.ofSeconds(15));
        assertThat(client.post("/api/reports").getStatusCode().value()).isEqualTo(200);
        assertThat(client.post("/api/reports").getStatusCode().value()).isEqualTo(429);
    }

    @Test
    void reportsAndHelloDoNotShareBuckets() {
        assertThat(statuses(10, "/api/hello")).isEqualTo(new Statuses(10, 0));
        assertThat(client.post("/api/reports").getStatusCode().value()).isEqualTo(200);
        assertThat(client.get("/actuator/health").getStatusCode().value()).as("Actuator is not limited").isEqualTo(200);
    }

    private Statuses statuses(int requests, String path, String... headers) {
        int ok = 0;
        int tooMany = 0;
        for (int i = 0; i < requests; i++) {
            int status = (path.equals("/api/reports") ? client.post(path, headers) : client.get(path, headers))
                    .getStatusCode().value();
            if (status == 200) {
                ok++;
            } else if (status == 429) {
                tooMany++;
            } else {
                throw new AssertionError("unexpected status " + status + " from " + path);
            }
        }
        return new Statuses(ok, tooMany);
    }

    /** How many requests got 200 and how many 429. */
    private record Statuses(int ok, int tooMany) {
    }
}
