package dev.ratelimit.sample;

import dev.ratelimit.spring.RateLimited;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/** The demo API. */
@RestController
class ApiController {

    private final AtomicLong reports = new AtomicLong();

    /** Limited by the "hello" rule in application.yml: 10 a minute, 100 with the premium key. */
    @GetMapping("/api/hello")
    public Map<String, String> hello() {
        return Map.of("message", "Hello!");
    }

    /** An expensive call: 5 permits of 20 a minute per client, so 4 reports a minute. */
    @RateLimited(limit = 20, period = "1m", cost = 5)
    @PostMapping("/api/reports")
    public Map<String, Object> report() {
        return Map.of("report", reports.incrementAndGet(), "status", "ready");
    }
}
