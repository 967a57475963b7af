package dev.ratelimit.sample;

import dev.ratelimit.core.ManualTicker;
import org.springframework.boot.resttestclient.TestRestTemplate;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * What the sample app's tests add: a clock that moves only when a test advances it, so a slow
 * machine never refills a bucket mid-test and a refill needs no sleeping; and a client for the
 * running app at 127.0.0.1.
 */
@TestConfiguration(proxyBeanMethods = false)
class LoopbackTesting {

    @Bean
    ManualTicker ticker() {
        return new ManualTicker();
    }

    @Bean
    LoopbackClient loopbackClient(TestRestTemplate http, Environment environment) {
        return new LoopbackClient(http, () -> environment.getRequiredProperty("local.server.port", Integer.class));
    }
}
