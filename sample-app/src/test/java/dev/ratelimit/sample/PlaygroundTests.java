package dev.ratelimit.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import com.jayway.jsonpath.JsonPath;
import dev.ratelimit.core.Algorithm;
import dev.ratelimit.sample.Simulator.Pattern;
import dev.ratelimit.sample.Simulator.Simulation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.resttestclient.TestRestTemplate;
import org.springframework.boot.resttestclient.autoconfigure.AutoConfigureTestRestTemplate;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;

/** The playground's simulation, its endpoint and its page, short of a browser (see the browser profile). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureTestRestTemplate
@Import(LoopbackTesting.class)
class PlaygroundTests {

    private static final Duration MINUTE = Duration.ofMinutes(1);

    @Autowired
    private TestRestTemplate http;

    @Autowired
    private LoopbackClient client;

    @Test
    void atAWindowEdgeAFixedWindowAdmitsNearlyTwiceTheLimitAndTheTokenBucketDoesNot() {
        Simulation fixed = Simulator.run(Algorithm.FIXED_WINDOW, 10, MINUTE, Pattern.EDGE);
        assertThat(fixed.requests()).hasSize(21);
        assertThat(fixed.admitted()).isEqualTo(20);
        assertThat(fixed.burstWindowMillis()).isEqualTo(6_000);
        assertThat(fixed.largestBurst()).as("9 before the window ends, 10 after").isEqualTo(19);

        Simulation bucket = Simulator.run(Algorithm.TOKEN_BUCKET, 10, MINUTE, Pattern.EDGE);
        assertThat(bucket.admitted()).isEqualTo(11);
        assertThat(bucket.largestBurst()).as("a full bucket, and nothing refills in 1.2 s").isEqualTo(10);

        Simulation log = Simulator.run(Algorithm.SLIDING_WINDOW_LOG, 10, MINUTE, Pattern.EDGE);
        assertThat(log.largestBurst()).isEqualTo(10);
    }

    @Test
    void burstsOfTwiceTheLimitAreHalfAdmittedEachPeriod() {
        for (Algorithm algorithm : List.of(Algorithm.FIXED_WINDOW, Algorithm.TOKEN_BUCKET, Algorithm.SLIDING_WINDOW_LOG)) {
            Simulation bursts = Simulator.run(algorithm, 10, MINUTE, Pattern.BURST);
            assertThat(bursts.requests()).as(algorithm.name()).hasSize(60);
            assertThat(bursts.admitted()).as(algorithm.name()).isEqualTo(30);
            assertThat(bursts.durationMillis()).isEqualTo(180_000);
        }
    }

    @Test
    void steadyTrafficAtTwiceTheRateIsCutToTheRate() {
        Simulation steady = Simulator.run(Algorithm.LEAKY_BUCKET, 10, MINUTE, Pattern.STEADY);
        assertThat(steady.requests()).hasSize(60);
        assertThat(steady.admitted()).as("one request every 6 s of every 3 s").isEqualTo(30);
        assertThat(steady.largestBurst()).as("6 s apart, so one in any 6 s").isEqualTo(1);
    }

    @Test
    void theMostWithinAnIntervalCountsHalfOpenIntervals() {
        assertThat(Simulator.mostWithin(List.of(), 10)).isZero();
        assertThat(Simulator.mostWithin(List.of(0L, 9L, 10L, 11L), 10)).isEqualTo(3);
        assertThat(Simulator.mostWithin(List.of(0L, 10L, 20L), 10)).isEqualTo(1);
    }

    @Test
    void limitsAndPeriodsAreBounded() {
        assertThatIllegalArgumentException().isThrownBy(() -> Simulator.run(Algorithm.TOKEN_BUCKET, 1001, MINUTE, Pattern.EDGE))
                .withMessage("limit must be between 1 and 1000: 1001");
        assertThatIllegalArgumentException().isThrownBy(() -> Simulator.run(Algorithm.TOKEN_BUCKET, 1, Duration.ofHours(2), Pattern.EDGE))
                .withMessage("period must be between 1s and 1h: PT2H");
    }

    @Test
    void theEndpointSimulatesAndRefusesBadInput() {
        ResponseEntity<String> response = post("{\"algorithm\":\"fixed-window\",\"limit\":10,\"periodSeconds\":60,\"pattern\":\"edge\"}");
        assertThat(response.getStatusCode().value()).isEqualTo(200);
        assertThat(JsonPath.<Integer>read(response.getBody(), "$.largestBurst")).isEqualTo(19);
        assertThat(JsonPath.<String>read(response.getBody(), "$.algorithm")).isEqualTo("fixed-window");
        assertThat(JsonPath.<List<Object>>read(response.getBody(), "$.requests")).hasSize(21);
        assertThat(JsonPath.<Boolean>read(response.getBody(), "$.requests[0].admitted")).isTrue();

        assertThat(post("{\"algorithm\":\"magic\",\"limit\":10,\"periodSeconds\":60,\"pattern\":\"edge\"}")
                .getStatusCode().value()).isEqualTo(400);
        assertThat(post("{\"algorithm\":\"token-bucket\",\"limit\":0,\"periodSeconds\":60,\"pattern\":\"edge\"}")
                .getStatusCode().value()).isEqualTo(400);
        assertThat(post("{\"algorithm\":\"token-bucket\",\"limit\":10,\"periodSeconds\":60}").getStatusCode().value())
                .isEqualTo(400);
    }

    @Test
    void thePageIsServedAtTheRootAndLoadsNothingFromElsewhere() throws Exception {
        ResponseEntity<String> page = client.get("/");
        assertThat(page.getStatusCode().value()).isEqualTo(200);
        assertThat(page.getBody()).contains("<title>ratelimit playground</title>");
        for (String file : List.of("index.html", "playground.js", "playground.css")) {
            assertThat(client.get("/" + file).getStatusCode().value()).isEqualTo(200);
            String source = Files.readString(Path.of("src/main/resources/static", file))
                    .replace("http://www.w3.org/2000/svg", ""); // a namespace name, never fetched
            assertThat(source).as(file).doesNotContainPattern("(?i)(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}")
                    .doesNotContain("@import").doesNotContain("url(");
        }
    }

    private ResponseEntity<String> post(String json) {
        HttpHeaders headers = new HttpHeaders();
        headers.setContentType(MediaType.APPLICATION_JSON);
        return http.postForEntity("/playground/simulate", new HttpEntity<>(json, headers), String.class);
    }
}
