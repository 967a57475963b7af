package dev.ratelimit.spring;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.aopalliance.aop.Advice;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.springframework.aop.Pointcut;
import org.springframework.aop.PointcutAdvisor;
import org.springframework.aop.framework.AopProxyUtils;
import org.springframework.aop.support.AopUtils;
import org.springframework.aop.support.StaticMethodMatcherPointcut;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.context.expression.MethodBasedEvaluationContext;
import org.springframework.core.DefaultParameterNameDiscoverer;
import org.springframework.core.ParameterNameDiscoverer;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.MergedAnnotations;
import org.springframework.expression.Expression;
import org.springframework.expression.ParseException;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.util.ClassUtils;
import org.springframework.util.ReflectionUtils;

/**
 * Enforces {@link RateLimited} on Spring beans' public methods. Registered by the auto-configuration.
 *
 * <p>Every annotated method of every bean is checked once the singletons exist, so a bad attribute
 * stops the application at start-up; a call then only evaluates its key and takes permits.
 *
 * <p>Applied by a Spring AOP advisor ({@link #advisor}) rather than as an AspectJ {@code @Aspect}:
 * the advisor's pointcut is the very test that finds the methods to check ({@link #intercepted}),
 * so a method is intercepted exactly when its limit was compiled. An AspectJ {@code @annotation}
 * pointcut does not see an annotation on an interface method or on the superclass method a bean
 * overrides, so such a limit was checked at start-up and then silently never enforced.
 */
public final class RateLimitedAspect implements MethodInterceptor, SmartInitializingSingleton {

    /** Shared by every caller of a method without a key outside a web request. */
    static final String GLOBAL_KEY = "global";

    private static final ParameterNameDiscoverer PARAMETER_NAMES = new DefaultParameterNameDiscoverer();

    /** The annotations of methods Spring MVC calls itself, which a class-level annotation leaves out. */
    private static final List<String> CALLBACKS = List.of("org.springframework.web.bind.annotation.InitBinder",
            "org.springframework.web.bind.annotation.ModelAttribute",
            "org.springframework.web.bind.annotation.ExceptionHandler");

    private final RateLimitEnforcer enforcer;
    private final Algorithm algorithm;
    private final Web web;
    private final ConfigurableListableBeanFactory beanFactory;
    private final Map<MethodKey, MethodLimit> limits = new ConcurrentHashMap<>();
    /** Which method each method's own rule belongs to, so that no two methods share one by accident. */
    private final Map<String, String> owners = new ConcurrentHashMap<>();

    /**
     * What the aspect needs from Spring MVC, when it is present.
     *
     * @param tier     the calling client's tier, or null for the default
     * @param key      the calling client's key; never null or blank
     * @param headers  writes rate-limit headers for the request so far onto the response
     * @param ruleKeys by rule name, the key a rule of {@code ratelimit.rules} with a {@code key} of its
     *                 own gives the client, so that {@code @RateLimited(rule = ...)} counts the client
     *                 in the bucket the filter does; a rule not in it is keyed by {@code key}
     */
    public record Web(Function<HttpServletRequest, String> tier, Function<HttpServletRequest, String> key,
            BiConsumer<HttpServletResponse, RateLimitResult> headers,
            Map<String, Function<HttpServletRequest, String>> ruleKeys) {

        /** Validates the arguments. */
        public Web {
            Objects.requireNonNull(tier, "tier");
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(headers, "headers");
            ruleKeys = Map.copyOf(ruleKeys);
        }

        /** Hooks under which every rule is keyed by {@code key}. */
        public Web(Function<HttpServletRequest, String> tier, Function<HttpServletRequest, String> key,
                BiConsumer<HttpServletResponse, RateLimitResult> headers) {
            this(tier, key, headers, Map.of());
        }

        /** How calls under {@code rule} are keyed when the annotation gives no key of its own. */
        Function<HttpServletRequest, String> keyOf(String rule) {
            return ruleKeys.getOrDefault(rule, key);
        }
    }

    /**
     * Creates the aspect.
     *
     * @param web         the web hooks, or null in an application without Spring MVC
     * @param beanFactory scanned for annotated beans at start-up
     */
    public RateLimitedAspect(RateLimitEnforcer enforcer, RateLimitProperties properties, Web web,
            ConfigurableListableBeanFactory beanFactory) {
        this.enforcer = Objects.requireNonNull(enforcer, "enforcer");
        this.algorithm = properties.getAlgorithm();
        this.web = web != null && CurrentRequest.available(beanFactory.getBeanClassLoader()) ? web : null;
        this.beanFactory = beanFactory;
    }

    /** Checks every annotated method of every singleton bean, so that mistakes surface now. */
    @Override
    public void afterSingletonsInstantiated() {
        for (String name : beanFactory.getBeanNamesForType(Object.class, false, false)) {
            Class<?> type = beanFactory.getType(name, false);
            if (type == null) {
                continue;
            }
            Class<?> userClass = ClassUtils.getUserClass(type);
            ReflectionUtils.doWithMethods(userClass, method -> checkProxyable(method, userClass),
                    method -> !method.isBridge() && covered(method, userClass));
            if (Proxy.isProxyClass(userClass)) {
                limitJdkProxy(name);
                continue;
            }
            ReflectionUtils.doWithMethods(userClass, method -> limit(method, userClass),
                    method -> !method.isBridge() && intercepted(method, userClass));
        }
    }

    /**
     * Compiles the limits of a JDK proxy's target. The proxy's own class would not do: it finds an
     * interface's annotation on every method it implements, Advised's and toString among them, and
     * names the rules after itself ({@code $Proxy12.ping}), while its calls are limited under the
     * target's class ({@link #invoke}). So those phantom rules were listed, metered and never
     * enforced. The methods compiled are the proxied interfaces', the only ones a caller reaches.
     */
    private void limitJdkProxy(String name) {
        Object bean = beanFactory.getSingleton(name);
        if (bean == null || !Proxy.isProxyClass(bean.getClass())) {
            return; // not created yet, or a FactoryBean's product: its rules are compiled on the first call
        }
        Class<?> targetClass = AopProxyUtils.ultimateTargetClass(bean);
        if (Proxy.isProxyClass(targetClass)) {
            return; // not a Spring AOP proxy: no advisor of ours on it
        }
        for (Class<?> proxied : AopProxyUtils.proxiedUserInterfaces(bean)) {
            for (Method method : proxied.getMethods()) {
                if (!method.isBridge() && intercepted(method, targetClass)) {
                    limit(method, targetClass);
                }
            }
        }
    }

    /**
     * The pointcut: public instance methods, not Object's, with {@link RateLimited} on them, or on
     * their class unless Spring MVC calls them itself ({@link #callback}). A class-level annotation
     * leaves out a class's own equals, hashCode and toString too, as Spring's class-level
     * annotations do ({@link ReflectionUtils#isObjectMethod}): logging a bean or putting it in a set
     * must not spend its permits, nor be refused with a {@link RateLimitExceededException}.
     */
    private static boolean intercepted(Method method, Class<?> targetClass) {
        if (!publicInstance(method)) {
            return false;
        }
        Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
        return AnnotatedElementUtils.findMergedAnnotation(specific, RateLimited.class) != null
                || (!callback(specific) && !ReflectionUtils.isObjectMethod(specific)
                        && AnnotatedElementUtils.findMergedAnnotation(targetClass, RateLimited.class) != null);
    }

    /**
     * Whether Spring MVC calls {@code method} on its own account: an {@code @InitBinder},
     * {@code @ModelAttribute} or {@code @ExceptionHandler} method of a controller, which runs as often
     * as MVC needs it (a binder per argument), not once per client call. A class-level annotation
     * leaves these out, or one request would take several permits, and a callback's own rule could
     * refuse requests its handlers admit. Matched by name, as Spring MVC is optional.
     */
    private static boolean callback(Method method) {
        MergedAnnotations annotations = MergedAnnotations.from(method, MergedAnnotations.SearchStrategy.TYPE_HIERARCHY);
        if (annotations.isPresent("org.springframework.web.bind.annotation.RequestMapping")) {
            return false; // a handler whose return value is a model attribute
        }
        for (String callback : CALLBACKS) {
            if (annotations.isPresent(callback)) {
                return true;
            }
        }
        return false;
    }

    /** What a class-level annotation can take in: a public instance method that is not Object's. */
    private static boolean publicInstance(Method method) {
        int modifiers = method.getModifiers();
        return Modifier.isPublic(modifiers) && !Modifier.isStatic(modifiers) && method.getDeclaringClass() != Object.class;
    }

    /**
     * The methods whose limit the user asked for: annotated ones, and the public instance methods
     * that a class under a class-level annotation declares. A final one among them cannot be
     * intercepted, so it is refused. Methods a class inherits from one the annotation does not
     * cover (a framework's base class, with its own final methods) are not the user's to change,
     * and a JDK proxy's class declares every method final: neither is refused. Nor are a class's
     * own equals, hashCode and toString, which the class-level annotation leaves out.
     */
    private static boolean covered(Method method, Class<?> targetClass) {
        if (method.isAnnotationPresent(RateLimited.class)) {
            return true;
        }
        Class<?> declaring = method.getDeclaringClass();
        return publicInstance(method) && !Proxy.isProxyClass(declaring) && !callback(method)
                && !ReflectionUtils.isObjectMethod(method)
                && AnnotatedElementUtils.findMergedAnnotation(declaring, RateLimited.class) != null;
    }

    /**
     * The advisor that applies the aspect. Its pointcut needs no bean, and the aspect is looked up
     * on the first intercepted call: auto-proxying collects advisors while the first beans are being
     * created, and an advisor holding the aspect would create the enforcer, its limiters and any
     * Redis connection then, before the post-processors that should see them are all registered.
     *
     * @param aspect the aspect bean, looked up once
     */
    public static PointcutAdvisor advisor(Supplier<RateLimitedAspect> aspect) {
        return new Advisor(aspect);
    }

    private static final class Advisor implements PointcutAdvisor, MethodInterceptor {

        private static final Pointcut POINTCUT = new StaticMethodMatcherPointcut() {
            @Override
            public boolean matches(Method method, Class<?> targetClass) {
                return intercepted(method, ClassUtils.getUserClass(targetClass));
            }
        };

        private final Supplier<RateLimitedAspect> lookup;
        private volatile RateLimitedAspect aspect;

        Advisor(Supplier<RateLimitedAspect> lookup) {
            this.lookup = Objects.requireNonNull(lookup, "aspect");
        }

        @Override
        public Pointcut getPointcut() {
            return POINTCUT;
        }

        @Override
        public Advice getAdvice() {
            return this;
        }

        @Override
        public Object invoke(MethodInvocation call) throws Throwable {
            RateLimitedAspect resolved = aspect;
            if (resolved == null) {
                aspect = resolved = lookup.get();
            }
            return resolved.invoke(call);
        }
    }

    /** A proxy cannot intercept a private, static or final method, so the annotation would do nothing. */
    private static void checkProxyable(Method method, Class<?> targetClass) {
        int modifiers = method.getModifiers();
        if (!Modifier.isPublic(modifiers) || Modifier.isStatic(modifiers) || Modifier.isFinal(modifiers)) {
            throw new IllegalStateException("@RateLimited on " + targetClass.getSimpleName() + "." + method.getName()
                    + " would never apply: it must be on a public, non-static, non-final method");
        }
    }

    /** Takes permits before the call; throws {@link RateLimitExceededException} instead of calling when denied. */
    @Override
    public Object invoke(MethodInvocation call) throws Throwable {
        Method method = call.getMethod();
        Class<?> targetClass = call.getThis() != null ? AopUtils.getTargetClass(call.getThis()) : method.getDeclaringClass();
        MethodLimit limit = limit(method, ClassUtils.getUserClass(targetClass));
        HttpServletRequest request = web != null ? CurrentRequest.get() : null;
        // An early rule's filter decides before Spring Security has set a user, so its key (principal,
        // or the ClientKeyResolver's) and tier fall back there; seen here with the user, one client
        // would have a bucket in the filter and another in the method, and twice the rule's limit.
        HttpServletRequest client = request != null && limit.early() ? CurrentRequest.withoutUser(request) : request;
        String key = limit.key(call.getArguments(), request, client, web);
        String clientTier = client != null && limit.usesClientTier() ? web.tier().apply(client) : null;
        RateLimitResult own = enforcer.enforce(List.of(new RateLimitEnforcer.Check(limit.rule(),
                enforcer.tierFor(limit.rule(), clientTier), key, limit.cost())));
        RateLimitResult gathered = request != null ? CurrentRequest.accumulate(request, own, web.headers()) : own;
        // This call's own decision decides it: an earlier denial in the request that the application
        // caught is no reason to refuse a call its limit admits.
        if (!own.allowed()) {
            throw new RateLimitExceededException(gathered);
        }
        return call.proceed();
    }

    private MethodLimit limit(Method method, Class<?> targetClass) {
        Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
        MethodKey id = new MethodKey(specific, targetClass);
        MethodLimit limit = limits.get(id);
        return limit != null ? limit : limits.computeIfAbsent(id, k -> compile(specific, targetClass));
    }

    private static RateLimited annotation(Method method, Class<?> targetClass) {
        RateLimited annotation = AnnotatedElementUtils.findMergedAnnotation(method, RateLimited.class);
        return annotation != null ? annotation : AnnotatedElementUtils.findMergedAnnotation(targetClass, RateLimited.class);
    }

    private MethodLimit compile(Method method, Class<?> targetClass) {
        RateLimited annotation = annotation(method, targetClass);
        if (annotation == null) {
            throw new IllegalStateException("no @RateLimited on " + method);
        }
        String where = targetClass.getSimpleName() + "." + method.getName();
        String rule;
        boolean clientTier = false;
        boolean early = false;
        if (annotation.limit() != 0 || !annotation.period().isEmpty() || annotation.capacity() != 0) {
            rule = ownRule(annotation, method, targetClass, where);
            Policy inline = new Policy(algorithm, List.of(inlineLimit(annotation, where)));
            define(where, "(limit = \"" + annotation.limit() + "/" + annotation.period() + "\")", rule, null, inline);
        } else if (!annotation.tier().isEmpty()) {
            rule = ownRule(annotation, method, targetClass, where);
            if (!enforcer.tiers().contains(annotation.tier())) {
                throw invalid(where, "tier", annotation.tier(), "names no tier; tiers are " + enforcer.tiers());
            }
            define(where, "(tier = \"" + annotation.tier() + "\")", rule, annotation.tier(), null);
        } else if (!annotation.rule().isEmpty()) {
            if (!annotation.name().isEmpty()) {
                throw invalid(where, "name", annotation.name(), "cannot be combined with rule: the method shares rule \""
                        + annotation.rule() + "\" and its name");
            }
            rule = annotation.rule();
            if (!enforcer.hasRule(rule)) {
                throw invalid(where, "rule", rule, "names no rule in ratelimit.rules");
            }
            clientTier = true;
            early = enforcer.isEarly(rule);
        } else {
            rule = ownRule(annotation, method, targetClass, where);
            if (enforcer.tiers().isEmpty()) {
                throw invalid(where, "tier", "", "is needed, or limit and period: ratelimit.tiers is empty");
            }
            define(where, "", rule, null, null);
            clientTier = true;
        }
        long cost = annotation.cost();
        enforcer.tiersOf(rule).forEach((tier, limits) -> {
            for (Limit limit : limits) {
                if (cost <= 0 || cost > limit.capacity()) {
                    throw invalid(where, "cost", cost, "must be between 1 and capacity " + limit.capacity()
                            + " of \"" + tier + "\"");
                }
            }
        });
        Expression key = null;
        if (!annotation.key().isEmpty()) {
            try {
                key = new SpelExpressionParser().parseExpression(annotation.key());
            } catch (ParseException e) {
                throw invalid(where, "key", annotation.key(), "is not a valid SpEL expression: " + e.getSimpleMessage());
            }
            // Only when the parameters' names are known (compiled with -parameters, as Spring Boot's
            // parent sets up); #p0 and #a0 work either way.
            String[] parameters = PARAMETER_NAMES.getParameterNames(method);
            String unknown = parameters == null ? null : KeyExpressions.unknownVariable(key, name ->
                    List.of(parameters).contains(name) || name.equals("request") || name.equals("principal")
                            || (name.matches("[pa]\\d{1,9}") && Integer.parseInt(name.substring(1)) < parameters.length));
            if (unknown != null) {
                throw invalid(where, "key", annotation.key(), "names #" + unknown + ", which the method has no parameter"
                        + " of; it has " + Arrays.toString(parameters) + ", besides #p0/#a0 ..., #request and #principal");
            }
        }
        return new MethodLimit(method, rule, cost, key, clientTier, early);
    }

    /**
     * The name of the method's own rule: {@link RateLimited#name()}, else {@code Class.method}, with
     * the parameter types when the class has other limited methods of that name. Each method gets a
     * rule of its own, so a name another method has taken (a class of the same simple name in
     * another package, say) is refused rather than shared.
     */
    private String ownRule(RateLimited annotation, Method method, Class<?> targetClass, String where) {
        String name = annotation.name();
        if (name.isEmpty()) {
            name = where;
            long overloads = Arrays.stream(targetClass.getMethods())
                    .filter(m -> m.getName().equals(method.getName()) && !m.isBridge() && intercepted(m, targetClass))
                    .count();
            if (overloads > 1) {
                name += Arrays.stream(method.getParameterTypes()).map(Class::getSimpleName)
                        .collect(Collectors.joining(",", "(", ")"));
            }
        }
        String owner = targetClass.getName() + "." + method.getName() + Arrays.toString(method.getParameterTypes());
        String taken = owners.putIfAbsent(name, owner);
        if (taken != null && !taken.equals(owner)) {
            throw new IllegalStateException("@RateLimited on " + owner + " and on " + taken + " would share the rule \""
                    + name + "\"; set name on one of them to give each its own");
        }
        // Only methods' rules are claimed in owners, so a rule the enforcer has that no method claimed
        // is one of ratelimit.rules: sharing it is what rule = ... says, not what a name should do.
        if (taken == null && enforcer.hasRule(name)) {
            owners.remove(name, owner);
            throw invalid(where, "name", name, "names a rule of ratelimit.rules; use rule = \"" + name
                    + "\" to share that rule's buckets, or another name");
        }
        return name;
    }

    /**
     * Registers the method's own rule. A store that cannot enforce it (Redis refuses limits it cannot
     * keep exact) is reported against the method and its annotation, as no property holds the rule.
     *
     * @param attributes how the annotation reads in the message, such as {@code (tier = "free")}
     */
    private void define(String where, String attributes, String rule, String tier, Policy inline) {
        try {
            enforcer.define(rule, algorithm, tier, inline);
        } catch (IllegalArgumentException e) {
            // No cause, like every other start-up error here: the message holds the store's reason,
            // and the root cause a start-up failure shows is then the one that names the method.
            throw new IllegalStateException("@RateLimited" + attributes + " on " + where + " " + e.getMessage());
        }
    }

    private static Limit inlineLimit(RateLimited annotation, String where) {
        if (annotation.limit() <= 0 || annotation.period().isEmpty()) {
            throw invalid(where, "limit", annotation.limit(), "and period must both be set for a one-off limit; period: \""
                    + annotation.period() + "\"");
        }
        Duration period;
        try {
            period = DurationStyle.detectAndParse(annotation.period(), ChronoUnit.SECONDS); // as in properties
        } catch (IllegalArgumentException e) {
            throw invalid(where, "period", annotation.period(), "is not a duration such as 1s, 1m or PT1H");
        }
        long capacity = annotation.capacity() == 0 ? annotation.limit() : annotation.capacity();
        try {
            return new Limit(annotation.limit(), period, capacity);
        } catch (IllegalArgumentException e) {
            throw invalid(where, "limit", annotation.limit() + "/" + annotation.period(), e.getMessage());
        }
    }

    private static IllegalStateException invalid(String where, String attribute, Object value, String reason) {
        return new IllegalStateException("@RateLimited(" + attribute + " = \"" + value + "\") on " + where + " " + reason);
    }

    private record MethodKey(Method method, Class<?> targetClass) {
    }

    /**
     * A compiled annotation: the rule to enforce, the cost and how to find the key; {@code early}
     * when the rule is one of {@code ratelimit.rules} marked early.
     */
    private record MethodLimit(Method method, String rule, long cost, Expression key, boolean usesClientTier,
            boolean early) {

        /** @param client the request as the rule's filter sees it, which keys a call without a key of its own */
        String key(Object[] args, HttpServletRequest request, HttpServletRequest client, Web web) {
            if (key != null) {
                MethodBasedEvaluationContext context = new MethodBasedEvaluationContext(null, method, args, PARAMETER_NAMES);
                if (request != null) {
                    context.setVariable("request", request);
                    context.setVariable("principal", request.getUserPrincipal());
                }
                String value = KeyExpressions.text(key.getValue(context), () -> "@RateLimited(key = \""
                        + key.getExpressionString() + "\") on " + method.getDeclaringClass().getSimpleName() + "."
                        + method.getName());
                if (value != null && !value.isBlank()) {
                    return "expr:" + value;
                }
            }
            return client != null ? web.keyOf(rule).apply(client) : GLOBAL_KEY;
        }
    }
}
