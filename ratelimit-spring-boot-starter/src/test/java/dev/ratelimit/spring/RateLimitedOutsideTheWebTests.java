package dev.ratelimit.spring;

import dev.ratelimit.core.ManualTicker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

import dev.ratelimit.core.Ticker;
import dev.ratelimit.spring.autoconfigure.RateLimitAutoConfiguration;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.test.util.AopTestUtils;

/** {@code @RateLimited} on plain beans of an application without Spring MVC: the caller gets the exception. */
class RateLimitedOutsideTheWebTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(RateLimitAutoConfiguration.class))
            .withClassLoader(new FilteredClassLoader("jakarta.servlet", "org.springframework.web"))
            .withBean(Ticker.class, ManualTicker::new)
            .withBean(Mailer.class)
            .withBean(Reports.class)
            .withBean(SmsNotifier.class)
            .withBean(NightlyJob.class)
            .withPropertyValues("ratelimit.tiers.free.limits[0].limit=3", "ratelimit.tiers.free.limits[0].period=30s",
                    "ratelimit.tiers.gold.limits[0].limit=5", "ratelimit.tiers.gold.limits[0].period=1m",
                    "ratelimit.rules[0].name=api", "ratelimit.rules[0].paths=/api/**");

    @Test
    void inlineLimitThrowsWithTheExactDecisionAndNeverCallsTheMethod() {
        runner.run(context -> {
            Mailer mailer = context.getBean(Mailer.class);
            mailer.send("a@example.com");
            mailer.send("b@example.com");
            RateLimitExceededException denied = catchDenial(() -> mailer.send("c@example.com"));
            assertThat(denied.getDecision().allowed()).isFalse();
            assertThat(denied.getDecision().remaining()).isZero();
            assertThat(denied.getDecision().limit()).isEqualTo(2);
            assertThat(denied.getDecision().retryAfter()).isEqualTo(Duration.ofMillis(500));
            assertThat(denied.getDenial().rule()).isEqualTo("Mailer.send");
            assertThat(denied.getDenial().key()).isEqualTo(RateLimitedAspect.GLOBAL_KEY);
            assertThat(denied.getMessage())
                    .isEqualTo("Rate limit exceeded for policy \"Mailer.send\" of rule \"Mailer.send\"; retry after PT0.5S");
            assertThat(mailer.sent()).isEqualTo(2);

            ticker(context).advance(Duration.ofMillis(500));
            mailer.send("d@example.com");
            assertThat(mailer.sent()).isEqualTo(3);
        });
    }

    @Test
    void spelKeyOverParametersGivesEachValueItsOwnBucket() {
        runner.run(context -> {
            Mailer mailer = context.getBean(Mailer.class);
            mailer.reset("alice");
            catchDenial(() -> mailer.reset("alice"));
            mailer.reset("bob");
            assertThat(mailer.resets()).isEqualTo(2);
        });
    }

    @Test
    void tierAndCostApplyThatTiersLimits() {
        runner.run(context -> {
            Reports reports = context.getBean(Reports.class);
            reports.export("acme"); // cost 2 of gold's 5
            reports.export("acme");
            RateLimitExceededException denied = catchDenial(() -> reports.export("acme"));
            assertThat(denied.getDenial().tier()).isEqualTo("gold");
            assertThat(denied.getDecision().remaining()).isEqualTo(1);
            assertThat(denied.getDecision().retryAfter()).isEqualTo(Duration.ofSeconds(12));
        });
    }

    @Test
    void classLevelAnnotationCoversEveryPublicMethodWithTheDefaultTier() {
        runner.run(context -> {
            Reports reports = context.getBean(Reports.class);
            for (int i = 0; i < 3; i++) {
                reports.list();
            }
            RateLimitExceededException denied = catchDenial(reports::list);
            assertThat(denied.getDenial().rule()).isEqualTo("Reports.list");
            assertThat(denied.getDenial().tier()).isEqualTo("free");
            assertThat(denied.getDecision().retryAfter()).isEqualTo(Duration.ofSeconds(10));
        });
    }

    @Test
    void ruleAnnotationSharesTheRulesBuckets() {
        runner.run(context -> {
            Reports reports = context.getBean(Reports.class);
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            enforcer.enforce(java.util.List.of(new RateLimitEnforcer.Check("api", "free", RateLimitedAspect.GLOBAL_KEY, 2)));
            reports.viaRule();
            RateLimitExceededException denied = catchDenial(reports::viaRule);
            assertThat(denied.getDenial().rule()).isEqualTo("api");
        });
    }

    /**
     * An annotation the limit is compiled from must also be enforced: one on an interface method, or
     * on the overridden method of a superclass, applies to the implementation, as
     * {@code AnnotatedElementUtils} finds it, though the method called carries none itself.
     */
    @Test
    void anAnnotationOnAnInterfaceOrOverriddenMethodIsEnforced() {
        runner.run(context -> {
            // An interface proxy here: this context has no spring.aop.proxy-target-class.
            Notifier notifier = context.getBean(Notifier.class);
            notifier.notify("+1555");
            RateLimitExceededException denied = catchDenial(() -> notifier.notify("+1556"));
            assertThat(denied.getDenial().rule()).isEqualTo("SmsNotifier.notify");
            assertThat(AopTestUtils.<SmsNotifier>getTargetObject(notifier).sent()).isEqualTo(1);

            NightlyJob job = context.getBean(NightlyJob.class);
            job.run();
            assertThat(catchDenial(job::run).getDenial().rule()).isEqualTo("NightlyJob.run");
            assertThat(job.runs()).isEqualTo(1);
        });
    }

    /** Two classes of one simple name would name their rules alike: sharing one bucket by accident is refused. */
    @Test
    void classesOfOneSimpleNameGetNoSharedRuleButAnErrorUntilOneIsNamed() {
        runner.withBean(V1.Exports.class).withBean(V2.Exports.class).run(context -> {
            assertThat(context).hasFailed();
            Throwable cause = context.getStartupFailure();
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            assertThat(cause).hasMessage("@RateLimited on " + V2.Exports.class.getName() + ".export[] and on "
                    + V1.Exports.class.getName() + ".export[] would share the rule \"Exports.export\"; set name on one"
                    + " of them to give each its own");
        });
        runner.withBean(V1.Exports.class).withBean(V3.Exports.class).run(context -> {
            context.getBean(V1.Exports.class).export();
            context.getBean(V3.Exports.class).export(); // its own hour's permit, not V1's
            assertThat(catchDenial(context.getBean(V3.Exports.class)::export).getDenial().rule())
                    .isEqualTo("v3-exports");
        });
    }

    /** Each public method of an annotated class has its own limit, overloads too, named by their parameters. */
    @Test
    void overloadsHaveALimitEach() {
        runner.withBean(Overloaded.class).run(context -> {
            Overloaded overloaded = context.getBean(Overloaded.class);
            overloaded.send("a");
            overloaded.send("a", 2); // not denied by the one-argument method's spent permit
            assertThat(catchDenial(() -> overloaded.send("b")).getDenial().rule()).isEqualTo("Overloaded.send(String)");
            assertThat(catchDenial(() -> overloaded.send("b", 3)).getDenial().rule())
                    .isEqualTo("Overloaded.send(String,int)");
        });
    }

    /**
     * Refusing final methods a class-level annotation takes in must not reach methods that are not
     * the user's: a framework superclass's public final ones, or a JDK proxy's (all final).
     */
    @Test
    void classLevelAnnotationsOnAFrameworkSubclassOrAnInterfaceStillStart() {
        runner.withBean(Greeter.class).withBean(Pinger.class, PingerImpl::new).run(context -> {
            assertThat(context).hasNotFailed();
            Greeter greeter = context.getBean(Greeter.class);
            greeter.hello();
            catchDenial(greeter::hello);
            Pinger pinger = context.getBean(Pinger.class);
            pinger.ping();
            catchDenial(pinger::ping);
        });
    }

    /**
     * A class-level annotation takes in the class's public methods, not its own equals, hashCode and
     * toString: logging the bean spent the one permit of the hour, and the second toString threw a
     * RateLimitExceededException. (A CGLIB proxy answers equals and hashCode itself.)
     */
    @Test
    void classLevelAnnotationLeavesObjectsMethodsAlone() {
        runner.withBean(Described.class).run(context -> {
            Described described = context.getBean(Described.class);
            for (int i = 0; i < 3; i++) {
                assertThat(described.toString()).isEqualTo("described");
                assertThat(described.equals(described)).isTrue();
                assertThat(Set.of(described)).contains(described);
            }
            described.work(); // the hour's one permit is still there
            assertThat(catchDenial(described::work).getDenial().rule()).isEqualTo("Described.work");
            assertThat(context.getBean(RateLimitEnforcer.class).rules()).extracting(RateLimitEnforcer.RuleView::name)
                    .filteredOn(rule -> rule.startsWith("Described.")).containsExactly("Described.work");
        });
    }

    /**
     * A JDK proxy's calls are limited under its target's class, so that is what start-up compiles:
     * compiled against the proxy's own class, an annotated interface registered a rule per method
     * the proxy implements ($Proxy12.addAdvisor(Advisor), $Proxy12.toString, ...), listed in the
     * endpoint and metered, but never enforced.
     */
    @Test
    void aJdkProxiedBeanRegistersTheRulesItsCallsAreLimitedBy() {
        runner.withBean(Pinger.class, PingerImpl::new).run(context -> {
            Pinger pinger = context.getBean(Pinger.class);
            assertThat(Proxy.isProxyClass(pinger.getClass())).isTrue();
            RateLimitEnforcer enforcer = context.getBean(RateLimitEnforcer.class);
            assertThat(enforcer.rules()).extracting(RateLimitEnforcer.RuleView::name)
                    .containsExactlyInAnyOrder("api", "Mailer.send", "Mailer.reset", "Reports.list", "Reports.export",
                            "SmsNotifier.notify", "NightlyJob.run", "PingerImpl.ping");
            pinger.ping();
            assertThat(catchDenial(pinger::ping).getDenial().rule()).isEqualTo("PingerImpl.ping");
            assertThat(enforcer.rules()).hasSize(8);
        });
    }

    private static ManualTicker ticker(AssertableApplicationContext context) {
        return (ManualTicker) context.getBean(Ticker.class);
    }

    private static RateLimitExceededException catchDenial(Runnable call) {
        return assertThatExceptionOfType(RateLimitExceededException.class).isThrownBy(call::run).actual();
    }

    public static class V1 {
        public static class Exports {
            @RateLimited(limit = 1, period = "1h")
            public void export() {
            }
        }
    }

    public static class V2 {
        public static class Exports {
            @RateLimited(limit = 1, period = "1h")
            public void export() {
            }
        }

    }

    public static class V3 {
        public static class Exports {
            @RateLimited(limit = 1, period = "1h", name = "v3-exports")
            public void export() {
            }
        }
    }

    @RateLimited(limit = 1, period = "1h")
    public static class Overloaded {
        public void send(String to) {
        }

        public void send(String to, int copies) {
        }
    }

    /** ApplicationObjectSupport has public final methods of its own (getApplicationContext, ...). */
    @RateLimited(limit = 1, period = "1h")
    public static class Greeter extends org.springframework.context.support.ApplicationObjectSupport {
        public String hello() {
            return "hi";
        }
    }

    @RateLimited(limit = 1, period = "1h")
    public interface Pinger {
        void ping();
    }

    public static class PingerImpl implements Pinger {
        @Override
        public void ping() {
        }
    }

    /** Public: CGLIB defines its subclass in the filtered class loader, outside this package. */
    public static class Mailer {

        private final AtomicInteger sent = new AtomicInteger();
        private final AtomicInteger resets = new AtomicInteger();

        /** Read through the proxy, which delegates to the target's counters. */
        public int sent() {
            return sent.get();
        }

        public int resets() {
            return resets.get();
        }

        @RateLimited(limit = 2, period = "1s")
        public void send(String to) {
            sent.incrementAndGet();
        }

        @RateLimited(limit = 1, period = "1h", key = "#user")
        public void reset(String user) {
            resets.incrementAndGet();
        }
    }

    @RateLimited
    public static class Reports {

        public void list() {
        }

        @RateLimited(tier = "gold", cost = 2, key = "#tenant")
        public void export(String tenant) {
        }

        @RateLimited(rule = "api")
        public void viaRule() {
        }
    }

    public interface Notifier {

        @RateLimited(limit = 1, period = "1h")
        void notify(String number);
    }

    public static class SmsNotifier implements Notifier {

        private final AtomicInteger sent = new AtomicInteger();

        @Override
        public void notify(String number) {
            sent.incrementAndGet();
        }

        public int sent() {
            return sent.get();
        }
    }

    /** Overrides Object's methods, as Lombok's @Data or a hand-written toString does. */
    @RateLimited(limit = 1, period = "1h")
    public static class Described {

        public void work() {
        }

        @Override
        public String toString() {
            return "described";
        }

        @Override
        public int hashCode() {
            return 42;
        }

        @Override
        public boolean equals(Object other) {
            return other == this;
        }
    }

    public static class Job {

        @RateLimited(limit = 1, period = "1h")
        public void run() {
        }
    }

    public static class NightlyJob extends Job {

        private final AtomicInteger runs = new AtomicInteger();

        @Override
        public void run() {
            runs.incrementAndGet();
        }

        public int runs() {
            return runs.get();
        }
    }
}
