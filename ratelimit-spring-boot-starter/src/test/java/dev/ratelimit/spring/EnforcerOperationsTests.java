package dev.ratelimit.spring;

import dev.ratelimit.core.ManualTicker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.spring.RateLimitListener.Outcome;
import dev.ratelimit.spring.metrics.RateLimitMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the enforcer offers operations: shadow mode, listeners, the rule listing, peek and reset. */
class EnforcerOperationsTests {

    private final ManualTicker ticker = new ManualTicker();
    private final List<String> heard = new ArrayList<>();
    private final RateLimitListener listener = new RateLimitListener() {
        @Override
        public void onDecision(RuleDecision decision, Outcome outcome, long elapsedNanos) {
            heard.add(decision.rule() + "/" + decision.tier() + " " + outcome.tag() + " allowed=" + decision.decision().allowed());
        }

        @Override
        public void onError(RateLimitEnforcer.Check check, RuntimeException error, long elapsedNanos) {
            heard.add(check.rule() + "/" + check.tier() + " " + Outcome.ERROR.tag() + " " + error.getMessage());
        }
    };

    @Test
    void aShadowedRuleAdmitsWhatItWouldDenyWithNoPermitsLeftAndTellsTheListeners() {
        RateLimitProperties properties = properties();
        properties.getRules().get(0).setShadow(true);
        RateLimitEnforcer enforcer = enforcer(properties);

        for (int i = 0; i < 2; i++) {
            assertThat(enforcer.enforce(checks("api")).allowed()).isTrue();
        }
        RateLimitResult shadowed = enforcer.enforce(checks("api", "strict"));
        assertThat(shadowed.allowed()).isTrue();
        assertThat(shadowed.decisions()).hasSize(2).first().satisfies(d -> {
            assertThat(d.decision()).isEqualTo(new Decision(true, 0, 2, 0, Duration.ofMinutes(1).toNanos()));
        });
        assertThat(heard).containsExactly("api/free allowed allowed=true", "api/free allowed allowed=true",
                "api/free shadow_denied allowed=false", "strict/free allowed allowed=true");

        ticker.advance(Duration.ofSeconds(30));
        assertThat(enforcer.peek("api", "ip:192.0.2.1").get("free").remaining())
                .as("a shadow denial consumed nothing, as an enforced one would not").isEqualTo(1);
    }

    @Test
    void aShadowedDenialOfACostlyCheckShowsNoPermitsLeftThoughSomeRemain() {
        RateLimitProperties properties = properties();
        properties.getRules().get(0).setShadow(true);
        RateLimitEnforcer enforcer = enforcer(properties);
        enforcer.enforce(checks("api")); // 1 of 2 left: a check for 2 would be denied

        RateLimitResult shadowed = enforcer.enforce(List.of(new RateLimitEnforcer.Check("api", "free", "ip:192.0.2.1", 2)));
        assertThat(shadowed.allowed()).isTrue();
        assertThat(shadowed.decisions()).singleElement().satisfies(d ->
                assertThat(d.decision().remaining()).as("shown as a denial would show it").isZero());
        assertThat(enforcer.peek("api", "ip:192.0.2.1").get("free").remaining()).as("consumed nothing").isEqualTo(1);
    }

    @Test
    void aLoneCheckIsDecidedAsOneAmongSeveral() {
        RateLimitProperties properties = properties();
        properties.getRules().get(0).setShadow(true);
        RateLimitEnforcer enforcer = enforcer(properties);
        for (int i = 0; i < 2; i++) {
            enforcer.enforce(checks("api"));
            enforcer.enforce(checks("strict"));
        }

        RateLimitResult shadowed = enforcer.enforce(checks("api"));
        assertThat(shadowed.allowed()).isTrue();
        assertThat(shadowed.decisions()).singleElement().satisfies(d ->
                assertThat(d.decision()).isEqualTo(new Decision(true, 0, 2, 0, Duration.ofMinutes(1).toNanos())));
        RateLimitResult denied = enforcer.enforce(checks("strict"));
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.denial()).hasValueSatisfying(d -> assertThat(d.rule()).isEqualTo("strict"));
        assertThat(denied.decisions()).hasSize(1);
        assertThat(heard).endsWith("api/free shadow_denied allowed=false", "strict/free denied allowed=false");
    }

    @Test
    void rulesReportWhetherTheyRunInTheEarlyFilter() {
        RateLimitProperties properties = properties();
        properties.getRules().get(1).setEarly(true);
        RateLimitEnforcer enforcer = withInlineRule(properties);

        assertThat(enforcer.rules()).extracting(RateLimitEnforcer.RuleView::name, RateLimitEnforcer.RuleView::early)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("Inline.method", false),
                        org.assertj.core.groups.Tuple.tuple("api", false),
                        org.assertj.core.groups.Tuple.tuple("strict", true));
    }

    /** An enforcer for {@code properties} with an inline {@code @RateLimited}-style rule defined too. */
    private RateLimitEnforcer withInlineRule(RateLimitProperties properties) {
        RateLimitEnforcer enforcer = enforcer(properties);
        enforcer.define("Inline.method", Algorithm.TOKEN_BUCKET, null,
                new Policy(Algorithm.TOKEN_BUCKET, List.of(Limit.of(1, Duration.ofMinutes(1)))));
        return enforcer;
    }

    @Test
    void aRuleMayOptOutOfGlobalShadowMode() {
        RateLimitProperties properties = properties();
        properties.setShadow(true);
        properties.getRules().get(1).setShadow(false);
        RateLimitEnforcer enforcer = withInlineRule(properties);

        assertThat(enforcer.rules()).extracting(RateLimitEnforcer.RuleView::name, RateLimitEnforcer.RuleView::shadow)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("Inline.method", true),
                        org.assertj.core.groups.Tuple.tuple("api", true),
                        org.assertj.core.groups.Tuple.tuple("strict", false));
        for (int i = 0; i < 2; i++) {
            enforcer.enforce(checks("strict"));
        }
        RateLimitResult denied = enforcer.enforce(checks("api", "strict"));
        assertThat(denied.allowed()).isFalse();
        assertThat(denied.denial()).hasValueSatisfying(d -> assertThat(d.rule()).isEqualTo("strict"));
        assertThat(heard).last().isEqualTo("strict/free denied allowed=false");
    }

    @Test
    void aLimiterThatFailsIsReportedAsAnErrorAndTheFailurePropagates() {
        RateLimiterFactory failing = (name, policy) -> new FailingLimiter(policy);
        RateLimitEnforcer enforcer = new RateLimitEnforcer(properties(), failing, List.of(listener));
        assertThatThrownBy(() -> enforcer.enforce(checks("api"))).hasMessage("store unreachable");
        assertThat(heard).containsExactly("api/free error store unreachable");
    }

    /**
     * Shadow mode never refuses a request, and a store that cannot decide (Redis in failure mode
     * closed) must not make a shadowed rule refuse it either, with the 503 the failure would become:
     * the failure is reported as an error, and the rule is left out of the result, which has no
     * figures of it to show.
     */
    @Test
    void aShadowedRuleWhoseLimiterFailsIsReportedAndLeftOut() {
        RateLimitProperties properties = properties();
        properties.getRules().get(0).setShadow(true);
        RateLimiterFactory factory = (name, policy) -> name.startsWith("api")
                ? new FailingLimiter(policy) : RateLimiter.builder().limits(policy.limits()).ticker(ticker).build();
        RateLimitEnforcer enforcer = new RateLimitEnforcer(properties, factory, List.of(listener));

        RateLimitResult alone = enforcer.enforce(checks("api"));
        assertThat(alone.allowed()).isTrue();
        assertThat(alone.decisions()).isEmpty();
        RateLimitResult both = enforcer.enforce(checks("api", "strict"));
        assertThat(both.allowed()).isTrue();
        assertThat(both.decisions()).extracting(RuleDecision::rule).containsExactly("strict");
        assertThat(heard).containsExactly("api/free error store unreachable", "api/free error store unreachable",
                "strict/free allowed allowed=true");
        // an enforced rule's failure still reaches the caller
        assertThatThrownBy(() -> new RateLimitEnforcer(properties(), factory, List.of()).enforce(checks("api")))
                .hasMessage("store unreachable");
    }

    @Test
    void aPeekThatFailsIsCountedAsAnErrorLikeAFailedTake() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RateLimiterFactory failing = (name, policy) -> new FailingLimiter(policy);
        RateLimitEnforcer enforcer = new RateLimitEnforcer(properties(), failing,
                List.of(listener, new RateLimitMetrics(registry)));
        // Two rules: the enforcer peeks at the second before taking from the first, and the peek throws.
        assertThatThrownBy(() -> enforcer.enforce(checks("api", "strict"))).hasMessage("store unreachable");
        assertThat(heard).containsExactly("strict/free error store unreachable");
        assertThat(registry.find(RateLimitMetrics.REQUESTS).tags("rule", "strict", "tier", "free", "outcome", "error")
                .counter()).as("error counter of the rule whose peek threw").isNotNull()
                .satisfies(counter -> assertThat(counter.count()).isEqualTo(1.0));
    }

    /**
     * A rule named "api/free" with the free tier's very limits, beside rule "api" under tier
     * "free": one limiter name would have given them one set of Redis keys, and each rule's
     * requests would have spent the other's permits.
     */
    @Test
    void aRuleWhoseNameHoldsASlashGetsALimiterNameOfItsOwn() {
        List<String> names = new ArrayList<>();
        RateLimiterFactory factory = (name, policy) -> {
            names.add(name);
            return RateLimiter.builder().algorithm(policy.algorithm()).limits(policy.limits()).ticker(ticker).build();
        };
        RateLimitEnforcer enforcer = new RateLimitEnforcer(properties(), factory, List.of(listener));
        enforcer.define("api/free", Algorithm.TOKEN_BUCKET, null,
                new Policy(Algorithm.TOKEN_BUCKET, List.of(Limit.of(2, Duration.ofMinutes(1)))));
        enforcer.enforce(checks("api"));
        enforcer.enforce(List.of(new RateLimitEnforcer.Check("api/free", null, "ip:192.0.2.1", 1)));
        assertThat(names).contains("api/free", "api%2Ffree").doesNotHaveDuplicates();
    }

    @Test
    void theRuleListingShowsEachPolicyARuleMayApply() {
        RateLimitProperties properties = properties();
        properties.getRules().get(1).setTier("premium");
        RateLimitEnforcer enforcer = enforcer(properties);
        assertThat(enforcer.rules()).satisfiesExactly(api -> {
            assertThat(api.tier()).isNull();
            assertThat(api.policies()).containsOnlyKeys("free", "premium");
            assertThat(api.policies().get("premium").limits()).containsExactly(Limit.of(5, Duration.ofSeconds(1)));
        }, strict -> {
            assertThat(strict.tier()).isEqualTo("premium");
            assertThat(strict.policies()).containsOnlyKeys("premium");
        });
    }

    @Test
    void peekConsumesNothingAndResetForgetsTheClientInEveryTier() {
        RateLimitEnforcer enforcer = enforcer(properties());
        enforcer.enforce(checks("api"));
        enforcer.enforce(List.of(new RateLimitEnforcer.Check("api", "premium", "ip:192.0.2.1", 3)));
        for (int i = 0; i < 3; i++) {
            Map<String, Decision> figures = enforcer.peek("api", "ip:192.0.2.1");
            assertThat(figures).containsOnlyKeys("free", "premium");
            assertThat(figures.get("free").remaining()).isEqualTo(1);
            assertThat(figures.get("premium").remaining()).isEqualTo(2);
        }
        assertThat(enforcer.peek("api", "ip:192.0.2.2").get("free").remaining()).isEqualTo(2);

        enforcer.reset("api", "ip:192.0.2.1");
        assertThat(enforcer.peek("api", "ip:192.0.2.1").get("free").remaining()).isEqualTo(2);
        assertThat(enforcer.peek("api", "ip:192.0.2.1").get("premium").remaining()).isEqualTo(5);
        assertThatIllegalArgumentException().isThrownBy(() -> enforcer.reset("nope", "ip:192.0.2.1"));
        assertThatIllegalArgumentException().isThrownBy(() -> enforcer.reset("api", " "));
    }

    @Test
    void aRequestOneRuleDeniesTakesNothingFromTheOthers() {
        RateLimitEnforcer enforcer = enforcer(properties());
        enforcer.enforce(checks("strict"));
        enforcer.enforce(checks("strict"));   // "strict" is spent; "api" is full

        RateLimitResult denied = enforcer.enforce(checks("api", "strict"));

        assertThat(denied.allowed()).isFalse();
        assertThat(denied.denial()).hasValueSatisfying(d -> assertThat(d.rule()).isEqualTo("strict"));
        assertThat(enforcer.peek("api", "ip:192.0.2.1").get("free").remaining())
                .as("the denied request took nothing from the rule that would have admitted it").isEqualTo(2);
    }

    private RateLimitEnforcer enforcer(RateLimitProperties properties) {
        RateLimiterFactory factory = (name, policy) -> RateLimiter.builder().algorithm(policy.algorithm())
                .limits(policy.limits()).ticker(ticker).build();
        return new RateLimitEnforcer(properties, factory, List.of(listener));
    }

    private static List<RateLimitEnforcer.Check> checks(String... rules) {
        List<RateLimitEnforcer.Check> checks = new ArrayList<>();
        for (String rule : rules) {
            checks.add(new RateLimitEnforcer.Check(rule, "free", "ip:192.0.2.1", 1));
        }
        return checks;
    }

    /** Tiers free (2 a minute) and premium (5 a second); rules "api" and "strict". */
    private static RateLimitProperties properties() {
        RateLimitProperties properties = new RateLimitProperties();
        properties.getTiers().put("free", tier(2, Duration.ofMinutes(1)));
        properties.getTiers().put("premium", tier(5, Duration.ofSeconds(1)));
        for (String name : List.of("api", "strict")) {
            RateLimitProperties.Rule rule = new RateLimitProperties.Rule();
            rule.setName(name);
            properties.getRules().add(rule);
        }
        return properties;
    }

    private static RateLimitProperties.Tier tier(long limit, Duration period) {
        RateLimitProperties.TierLimit spec = new RateLimitProperties.TierLimit();
        spec.setLimit(limit);
        spec.setPeriod(period);
        RateLimitProperties.Tier tier = new RateLimitProperties.Tier();
        tier.getLimits().add(spec);
        return tier;
    }

    /** A store that is down. */
    private record FailingLimiter(Policy policy) implements RateLimiter {

        @Override
        public Decision tryAcquire(String key, long permits) {
            throw new IllegalStateException("store unreachable");
        }

        @Override
        public Decision peek(String key) {
            throw new IllegalStateException("store unreachable");
        }

        @Override
        public Decision acquire(String key, long permits, Duration maxWait) {
            throw new IllegalStateException("store unreachable");
        }

        @Override
        public void reset(String key) {
            throw new IllegalStateException("store unreachable");
        }
    }
}
