package dev.ratelimit.spring.autoconfigure;

import dev.ratelimit.spring.RateLimitProperties;
import dev.ratelimit.spring.RateLimitRedisProperties;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.core.env.Environment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

/**
 * Refuses property names under {@code ratelimit} that nothing binds: a misspelt name is otherwise
 * dropped without a word, and some typos make a limit looser than meant, or absent ({@code pahts}
 * for {@code paths} leaves a rule that covers every path, {@code capacty} a burst the size of the
 * limit).
 *
 * <p>Not for environment variables: a Kubernetes service named {@code ratelimit} gives every pod
 * in its namespace {@code RATELIMIT_PORT}, {@code RATELIMIT_SERVICE_HOST} and the like, which read
 * as {@code ratelimit.port} and would stop applications that set nothing wrong.
 */
final class UnknownProperties {

    private UnknownProperties() {
    }

    /**
     * Binds {@code ratelimit.*} once more, with Boot's handler for unbound elements, whose failure
     * Boot's own analyzer reports with each unknown name, its value and where it was set.
     */
    static void refuse(Environment environment) {
        Binder.get(environment).bind("ratelimit", Bindable.ofInstance(new Everything()),
                new NoUnboundElementsBindHandler(BindHandler.DEFAULT,
                        source -> !(source.getUnderlyingSource() instanceof SystemEnvironmentPropertySource)));
    }

    /** Every name under {@code ratelimit}: the main properties and {@code ratelimit.redis}. */
    static final class Everything extends RateLimitProperties {

        private final RateLimitRedisProperties redis = new RateLimitRedisProperties();

        public RateLimitRedisProperties getRedis() {
            return redis;
        }
    }
}
