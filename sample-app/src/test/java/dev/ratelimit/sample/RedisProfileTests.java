package dev.ratelimit.sample;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.redis.TestRedis;
import io.lettuce.core.RedisURI;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The redis profile: two instances of the app on different ports share one set of limits. Redis
 * decides on its own clock here, so the bound allows one more admission per 6 s the test takes
 * (the free tier refills one request every 6 s); on any ordinary run that is exactly 10.
 */
class RedisProfileTests {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void twoInstancesShareTheFreeTiersTenAMinute() throws Exception {
        RedisURI redis = TestRedis.uri();
        String prefix = TestRedis.prefix();
        try (ConfigurableApplicationContext first = start(redis, prefix);
             ConfigurableApplicationContext second = start(redis, prefix)) {
            long started = System.nanoTime();
            int admitted = 0;
            int denied = 0;
            for (int i = 0; i < 7; i++) {
                for (ConfigurableApplicationContext app : new ConfigurableApplicationContext[] {first, second}) {
                    int status = get(app, "/api/hello");
                    if (status == 200) {
                        admitted++;
                    } else if (status == 429) {
                        denied++;
                    }
                }
            }
            long refills = Duration.ofNanos(System.nanoTime() - started).toSeconds() / 6;
            assertThat(admitted + denied).as("every answer a 200 or a 429").isEqualTo(14);
            assertThat(admitted).as("one set of limits across both instances").isBetween(10, 10 + (int) refills);
            assertThat(first.getEnvironment().getProperty("local.server.port"))
                    .isNotEqualTo(second.getEnvironment().getProperty("local.server.port"));
        }
    }

    private static ConfigurableApplicationContext start(RedisURI redis, String prefix) {
        return new SpringApplicationBuilder(SampleApplication.class).profiles("redis")
                .properties("server.port=0", "spring.data.redis.host=" + redis.getHost(),
                        "spring.data.redis.port=" + redis.getPort(), "ratelimit.redis.key-prefix=" + prefix,
                        "ratelimit.redis.command-timeout=2s", "logging.level.dev.ratelimit=info")
                .run();
    }

    private int get(ConfigurableApplicationContext app, String path) throws Exception {
        String port = app.getEnvironment().getRequiredProperty("local.server.port");
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
