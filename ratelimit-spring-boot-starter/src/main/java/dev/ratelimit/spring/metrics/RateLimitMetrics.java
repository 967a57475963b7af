package dev.ratelimit.spring.metrics;

import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitListener;
import dev.ratelimit.spring.RuleDecision;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Records every decision in Micrometer: a counter {@value #REQUESTS} tagged {@code rule},
 * {@code tier} ({@code none} for an inline {@code @RateLimited} limit) and {@code outcome}
 * ({@code allowed}, {@code denied}, {@code shadow_denied}, {@code error}), and a timer
 * {@value #DECISION} tagged {@code rule}.
 *
 * <p>Tags come from configuration only, never from the client key, so the number of series is
 * bounded by rules × tiers × 4 however many clients there are. Meters are looked up once and cached.
 * Each rule's timer and its {@code allowed} and {@code denied} (or, in shadow mode,
 * {@code shadow_denied}) counters exist from the moment the rule is registered, at zero, so a
 * dashboard or an alert on the rate of denials sees a series before the first denial; the
 * {@code error} counter appears with the first error. Thread-safe.
 */
public final class RateLimitMetrics implements RateLimitListener {

    /** Name of the counter of decisions. */
    public static final String REQUESTS = "ratelimit.requests";

    /** Name of the timer of the time spent deciding. */
    public static final String DECISION = "ratelimit.decision";

    private final MeterRegistry registry;
    /**
     * Counters by rule, then tier tag, then outcome: looked up by strings whose hashes are cached,
     * so recording a decision allocates nothing (a composite key would be built per decision).
     */
    private final Map<String, Map<String, AtomicReferenceArray<Counter>>> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    /** Creates meters in {@code registry} as decisions arrive. */
    public RateLimitMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    @Override
    public void onRule(RateLimitEnforcer.RuleView rule) {
        Outcome denial = rule.shadow() ? Outcome.SHADOW_DENIED : Outcome.DENIED;
        for (String tier : rule.inline() ? Collections.<String>singleton(null) : rule.policies().keySet()) {
            counter(rule.name(), tier, Outcome.ALLOWED);
            counter(rule.name(), tier, denial);
        }
        timer(rule.name());
    }

    @Override
    public void onDecision(RuleDecision decision, Outcome outcome, long elapsedNanos) {
        record(decision.rule(), decision.tier(), outcome, elapsedNanos);
    }

    @Override
    public void onError(RateLimitEnforcer.Check check, RuntimeException error, long elapsedNanos) {
        record(check.rule(), check.tier(), Outcome.ERROR, elapsedNanos);
    }

    private void record(String rule, String tier, Outcome outcome, long elapsedNanos) {
        counter(rule, tier, outcome).increment();
        timer(rule).record(elapsedNanos, TimeUnit.NANOSECONDS);
    }

    private Counter counter(String rule, String tier, Outcome outcome) {
        String tierTag = tier == null ? "none" : tier;
        AtomicReferenceArray<Counter> byOutcome = counters.computeIfAbsent(rule, r -> new ConcurrentHashMap<>())
                .computeIfAbsent(tierTag, t -> new AtomicReferenceArray<>(Outcome.values().length));
        Counter counter = byOutcome.get(outcome.ordinal());
        if (counter == null) {
            // Racing threads may both build it: the registry returns the one meter for these tags.
            counter = Counter.builder(REQUESTS)
                    .description("Requests decided by a rate-limit rule")
                    .tag("rule", rule).tag("tier", tierTag).tag("outcome", outcome.tag())
                    .register(registry);
            byOutcome.set(outcome.ordinal(), counter);
        }
        return counter;
    }

    private Timer timer(String rule) {
        return timers.computeIfAbsent(rule, r -> Timer.builder(DECISION)
                .description("Time a rate-limit rule took to decide")
                .tag("rule", r)
                .register(registry));
    }
}
