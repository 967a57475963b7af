package dev.ratelimit.sample;

import dev.ratelimit.core.Algorithm;
import java.time.Duration;
import java.util.Locale;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/** The playground page's one call: simulate a traffic pattern against an algorithm. */
@RestController
class PlaygroundController {

    /**
     * What to simulate.
     *
     * @param algorithm     as in {@code application.yml}: {@code token-bucket}, {@code fixed-window}, ...
     * @param limit         permits per period, 1 to 1000
     * @param periodSeconds the period, 1 to 3600
     * @param pattern       {@code steady}, {@code burst} or {@code edge}
     */
    record SimulationRequest(String algorithm, long limit, long periodSeconds, String pattern) {
    }

    @PostMapping("/playground/simulate")
    public Simulator.Simulation simulate(@RequestBody SimulationRequest request) {
        try {
            return Simulator.run(parse(Algorithm.class, "algorithm", request.algorithm()), request.limit(),
                    Duration.ofSeconds(request.periodSeconds()), parse(Simulator.Pattern.class, "pattern", request.pattern()));
        } catch (IllegalArgumentException e) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, e.getMessage());
        }
    }

    private static <E extends Enum<E>> E parse(Class<E> type, String name, String value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " is not one of the choices: " + value);
        }
    }
}
