package dev.ratelimit.sample;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/** Reads the starter's meters; a meter not created yet counts as zero. */
final class RateLimitMeters {

    private final MeterRegistry meters;

    RateLimitMeters(MeterRegistry meters) {
        this.meters = meters;
    }

    double requests(String rule, String tier, String outcome) {
        Counter counter = meters.find("ratelimit.requests").tags("rule", rule, "tier", tier, "outcome", outcome).counter();
        return counter == null ? 0 : counter.count();
    }

    long decisions(String rule) {
        Timer timer = meters.find("ratelimit.decision").tags("rule", rule).timer();
        return timer == null ? 0 : timer.count();
    }
}
