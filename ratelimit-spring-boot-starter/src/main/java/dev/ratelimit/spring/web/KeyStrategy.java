package dev.ratelimit.spring.web;

import dev.ratelimit.spring.ClientKeyResolver;
import dev.ratelimit.spring.KeyExpressions;
import dev.ratelimit.spring.TierResolver;
import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import java.util.function.Supplier;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.context.expression.BeanFactoryResolver;
import org.springframework.expression.Expression;
import org.springframework.expression.ParseException;
import org.springframework.expression.spel.ast.PropertyOrFieldReference;
import org.springframework.expression.spel.standard.SpelExpression;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.expression.spel.support.StandardEvaluationContext;

/**
 * How a rule tells clients apart. Every strategy falls back to the client IP when its own source is
 * missing, so leaving a header out never escapes a limit. Keys are prefixed by their source
 * ({@code ip:}, {@code key:}, {@code custom:} for an application's own resolver, ...) so that values
 * from different sources never share a bucket.
 */
@FunctionalInterface
interface KeyStrategy {

    String key(HttpServletRequest request);

    /**
     * Compiles {@code ratelimit.rules[i].key}: {@code ip}, {@code api-key}, {@code principal},
     * {@code header:<Name>}, a SpEL expression, or null for the {@link ClientKeyResolver}.
     *
     * @throws InvalidConfigurationPropertyValueException naming {@code path} for a bad expression
     */
    static KeyStrategy compile(String path, String spec, ClientIpResolver ips, TierResolver tiers,
            ClientKeyResolver fallback, String apiKeyHeader, BeanFactory beanFactory) {
        if (spec == null || spec.isBlank()) {
            return DefaultClientKeyResolver.namespaced(fallback, ips)::resolve;
        }
        KeyStrategy ip = request -> "ip:" + ips.resolve(request);
        String trimmed = spec.trim();
        switch (trimmed) {
            case "ip":
                return ip;
            case "api-key":
                return request -> orIp(DefaultClientKeyResolver.knownApiKey(request, apiKeyHeader, tiers), "key:", ip, request);
            case "principal":
                return request -> {
                    Principal principal = request.getUserPrincipal();
                    return orIp(principal == null ? null : principal.getName(), "user:", ip, request);
                };
            default:
                break;
        }
        if (trimmed.startsWith("header:")) {
            String header = trimmed.substring("header:".length()).trim();
            if (!KeyExpressions.isHeaderName(header)) {
                // a name no request can carry would send every request to the fallback key
                throw new InvalidConfigurationPropertyValueException(path, spec,
                        "must name one header after \"header:\", such as header:X-Tenant");
            }
            return request -> orIp(request.getHeader(header), "header:", ip, request);
        }
        Expression expression = parse(path, trimmed);
        BeanFactoryResolver beans = beanFactory == null ? null : new BeanFactoryResolver(beanFactory);
        Supplier<String> where = () -> path + " (" + spec + ")";
        return request -> {
            StandardEvaluationContext context = new StandardEvaluationContext(request);
            context.setVariable("request", request);
            context.setVariable("principal", request.getUserPrincipal());
            context.setVariable("ip", ips.resolve(request));
            if (beans != null) {
                context.setBeanResolver(beans);
            }
            return orIp(KeyExpressions.text(expression.getValue(context), where), "expr:", ip, request);
        };
    }

    private static Expression parse(String path, String spec) {
        Expression expression;
        try {
            expression = new SpelExpressionParser().parseExpression(spec);
        } catch (ParseException e) {
            throw new InvalidConfigurationPropertyValueException(path, spec, "is not a valid SpEL expression: "
                    + e.getSimpleMessage());
        }
        // A bare word such as "ipp" parses as a property of the request; it is a typo, not a key.
        if (expression instanceof SpelExpression spel && spel.getAST() instanceof PropertyOrFieldReference) {
            throw new InvalidConfigurationPropertyValueException(path, spec,
                    "must be ip, api-key, principal, header:<Name> or a SpEL expression such as #request.getHeader('X-Tenant')");
        }
        String unknown = KeyExpressions.unknownVariable(expression,
                name -> name.equals("request") || name.equals("principal") || name.equals("ip"));
        if (unknown != null) {
            throw new InvalidConfigurationPropertyValueException(path, spec, "names #" + unknown
                    + ", which is not set; the variables are #request, #principal and #ip");
        }
        return expression;
    }

    private static String orIp(String value, String prefix, KeyStrategy ip, HttpServletRequest request) {
        return value == null || value.isBlank() ? ip.key(request) : prefix + value;
    }
}
