package dev.ratelimit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.core.Ticker;
import dev.ratelimit.spring.autoconfigure.RateLimitAutoConfiguration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The value of a SpEL key names the bucket by its text. An array's {@code toString()}, and that of any
 * object without one of its own, is its identity ({@code [Ljava.lang.String;@1b2c3d}): a fresh text, and
 * so a fresh bucket, for every call, which put the limit out of force. Arrays are keyed by their
 * elements; a value whose text is only its identity fails the call, naming the method.
 */
class KeyValuesTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(RateLimitAutoConfiguration.class))
            .withClassLoader(new FilteredClassLoader("jakarta.servlet", "org.springframework.web"))
            .withBean(Ticker.class, ManualTicker::new)
            .withBean(Lookups.class);

    @Test
    void anArrayKeyIsKeyedByItsElements() {
        runner.run(context -> {
            Lookups lookups = context.getBean(Lookups.class);
            lookups.byIds(new String[] { "a", "b" });
            assertThatExceptionOfType(RateLimitExceededException.class)
                    .isThrownBy(() -> lookups.byIds(new String[] { "a", "b" }));
            lookups.byIds(new String[] { "a", "c" });
            lookups.byCodes(new int[] { 1, 2 });
            assertThatExceptionOfType(RateLimitExceededException.class).isThrownBy(() -> lookups.byCodes(new int[] { 1, 2 }));
            assertThat(lookups.calls()).isEqualTo(3);
        });
    }

    @Test
    void aKeyWhoseTextIsItsIdentityFailsTheCallInsteadOfGivingItAFreshBucket() {
        runner.run(context -> {
            Lookups lookups = context.getBean(Lookups.class);
            assertThatIllegalStateException().isThrownBy(() -> lookups.byForm(new Form("alice")))
                    .withMessageContaining("Lookups.byForm").withMessageContaining(Form.class.getName());
            assertThat(lookups.calls()).isZero();
            lookups.byList(List.of("x"));
            assertThatExceptionOfType(RateLimitExceededException.class).isThrownBy(() -> lookups.byList(List.of("x")));
        });
    }

    /** A request body without a toString of its own. */
    public static final class Form {

        final String user;

        Form(String user) {
            this.user = user;
        }
    }

    public static class Lookups {

        private int calls;

        public int calls() {
            return calls;
        }

        @RateLimited(limit = 1, period = "1h", key = "#ids")
        public void byIds(String[] ids) {
            calls++;
        }

        @RateLimited(limit = 1, period = "1h", key = "#codes")
        public void byCodes(int[] codes) {
            calls++;
        }

        @RateLimited(limit = 1, period = "1h", key = "#form")
        public void byForm(Form form) {
            calls++;
        }

        @RateLimited(limit = 1, period = "1h", key = "#names")
        public void byList(List<String> names) {
            calls++;
        }
    }
}
