package dev.ratelimit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The breaker's probe, with no wait between probes, so that no test waits for real time. */
class CircuitBreakerTest {

    @Test
    void anOpenBreakerLetsOneProbeThroughAndItsVerdictDecides() {
        CircuitBreaker breaker = new CircuitBreaker(0, FailureMode.OPEN);
        assertThat(breaker.allow()).isTrue();
        breaker.failed(new RedisUnavailableException("down", null));
        assertThat(breaker.isOpen()).isTrue();
        assertThat(breaker.allow()).as("the probe").isTrue();
        assertThat(breaker.allow()).as("while the probe is out").isFalse();
        breaker.failed(new RedisUnavailableException("still down", null));
        assertThat(breaker.allow()).as("the next probe").isTrue();
        breaker.succeeded();
        assertThat(breaker.isOpen()).isFalse();
        assertThat(breaker.allow()).isTrue();
        assertThat(breaker.failures()).isEqualTo(2);
    }

    @Test
    void aRequestTimedOutBeforeItWasSentOpensTheBreakerButIsNoFailedCall() {
        CircuitBreaker breaker = new CircuitBreaker(0, FailureMode.OPEN);
        assertThat(breaker.allow()).as("closed").isTrue();
        breaker.timedOutUnsent(new RedisUnavailableException("Redis did not answer within 100 ms", null));
        assertThat(breaker.isOpen()).isTrue();
        assertThat(breaker.lastError()).isEqualTo("Redis did not answer within 100 ms");
        assertThat(breaker.failures()).as("no call was made").isZero();
        assertThat(breaker.allow()).as("the probe after the wait").isTrue();
    }
}
