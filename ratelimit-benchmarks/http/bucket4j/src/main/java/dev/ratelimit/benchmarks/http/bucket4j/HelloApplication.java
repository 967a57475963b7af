package dev.ratelimit.benchmarks.http.bucket4j;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The HTTP benchmark's endpoint: the same in all three applications; only the limiter differs. Caching is
 * enabled because Boot creates the JCache {@code CacheManager} that bucket4j-spring-boot-starter needs only then.
 */
@SpringBootApplication
@EnableCaching
@RestController
public class HelloApplication {

    public static void main(String[] args) {
        SpringApplication.run(HelloApplication.class, args);
    }

    @GetMapping("/hello")
    public String hello() {
        return "hello";
    }
}
