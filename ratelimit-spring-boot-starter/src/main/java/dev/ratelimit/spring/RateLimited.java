package dev.ratelimit.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Limits calls to a Spring bean's public methods: on a method, that method; on a class, each of its
 * public methods (a method's own annotation wins). Works on controllers and on any other bean, through
 * a Spring AOP proxy, so calls from inside the same object are not limited.
 *
 * <p>Which limits apply, in order of precedence:
 * <ul>
 *   <li>{@link #limit()} and {@link #period()}: a one-off limit for this method alone;</li>
 *   <li>{@link #tier()}: that tier's limits for every caller;</li>
 *   <li>{@link #rule()}: the buckets of that configured rule, shared with the filter;</li>
 *   <li>otherwise the calling client's tier, under a rule named after the method.</li>
 * </ul>
 * A denied call throws {@link RateLimitExceededException}. Every attribute is checked when the
 * application starts.
 *
 * <pre>{@code
 * @RateLimited(limit = 5, period = "1m", key = "#email")
 * public void sendPasswordReset(String email) { ... }
 * }</pre>
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface RateLimited {

    /** Name of a rule in {@code ratelimit.rules} whose limiters this method shares. */
    String rule() default "";

    /**
     * Name of the method's own rule (every case but {@link #rule()}): in metrics, the actuator, Redis
     * keys, and the {@code RateLimit-Policy} header of a one-off limit. By default
     * {@code SimpleClassName.method}, with the parameter types, as in {@code Reports.export(String,int)},
     * when the class has several limited methods of that name. Two methods may not share a name:
     * set one when classes of the same simple name in different packages would.
     */
    String name() default "";

    /** Name of a tier in {@code ratelimit.tiers} whose limits apply to every caller. */
    String tier() default "";

    /**
     * SpEL for the client key, over the method's parameters by name ({@code #email}), plus
     * {@code #request} and {@code #principal} during a web request. Empty uses the
     * {@link ClientKeyResolver} during a web request, and one key shared by every caller elsewhere.
     * A variable the method has no parameter of stops start-up, when the names are known.
     */
    String key() default "";

    /** Permits each call takes. */
    long cost() default 1;

    /** Permits per {@link #period()} of a one-off limit for this method; 0 for none. */
    long limit() default 0;

    /**
     * Period of the one-off limit, such as {@code "1s"}, {@code "1m"} or {@code "PT1H"}; a bare
     * number is seconds, as in {@code ratelimit.tiers}.
     */
    String period() default "";

    /** Largest burst of the one-off limit; 0 for {@link #limit()}. */
    long capacity() default 0;
}
