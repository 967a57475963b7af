package dev.ratelimit.quickstart;

import dev.ratelimit.spring.RateLimited;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
public class HelloController {

    // Limited by the "api" rule in application.yml: 10 a minute, 100 with the premium key.
    @GetMapping("/api/hello")
    public String hello() {
        return "hello";
    }

    // A one-off limit: each client may fetch the report once every 10 seconds.
    @RateLimited(limit = 1, period = "10s")
    @GetMapping("/report")
    public String report() {
        return "report";
    }
}
