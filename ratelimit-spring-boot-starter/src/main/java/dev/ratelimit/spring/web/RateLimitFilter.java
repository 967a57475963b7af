package dev.ratelimit.spring.web;

import dev.ratelimit.spring.ClientKeyResolver;
import dev.ratelimit.spring.ClientKeys;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitProperties;
import dev.ratelimit.spring.RateLimitResult;
import dev.ratelimit.spring.RuleDecision;
import dev.ratelimit.spring.TierResolver;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.web.cors.CorsUtils;
import org.springframework.web.util.pattern.PathPatternParser;
import org.springframework.web.util.pattern.PatternParseException;

/**
 * Applies {@code ratelimit.rules} to each request: every matching rule must admit it, or it is
 * answered 429 without reaching the application. Both answers carry the rate-limit headers.
 *
 * <p>Path patterns are compiled once, at start-up; they match the path within the application,
 * decoded the way Spring MVC decodes it, so an encoded path cannot slip past a rule that the
 * controller mapping would still match. A path with nothing to decode is matched without being
 * parsed (see {@link RequestPaths}).
 *
 * <p>A request is decided once, however often it passes the filter: only its {@code REQUEST}
 * dispatch is limited (not the forwards, includes, error pages and async dispatches that follow),
 * and a filter that finds its own rules among the decisions the request has gathered (say it is
 * registered twice, or also in a Spring Security chain) lets it through; a rule already decided
 * by a {@code @RateLimited} call is skipped, and the filter's other rules still apply. That result
 * is a request attribute the filter reads and writes anyway, so the guard costs no attribute of its own:
 * {@code OncePerRequestFilter}'s get, set and remove on every request measured about 0.2 µs in a
 * profile under load.
 */
public final class RateLimitFilter implements Filter {

    private static final Log LOG = LogFactory.getLog(RateLimitFilter.class);
    /**
     * Where a shadowed refusal of an unknown API key is logged: the logger of the enforcer's
     * shadowed denials, so that the one level an operator turns on to watch shadow mode shows both.
     */
    private static final Log SHADOW_LOG = LogFactory.getLog(RateLimitEnforcer.class);

    /** The methods a rule may name: RFC 9110's but CONNECT (which never reaches a servlet), plus PATCH (RFC 5789). */
    private static final List<String> METHODS = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
            "TRACE");

    private final RateLimitEnforcer enforcer;
    private final TierResolver tiers;
    private final RateLimitResponses responses;
    private final List<String> excludedSources;
    private final List<List<String>> ruleSources = new ArrayList<>();
    private final List<String> rulePaths = new ArrayList<>();
    private volatile List<RequestPaths.Pattern> excluded;
    private volatile List<WebRule> rules;
    private final String apiKeyHeader;
    private final boolean rejectUnknownApiKeys;

    /**
     * Compiles the rules of {@code properties} that are not marked early.
     *
     * @param beanFactory resolves {@code @bean} references in SpEL keys; may be null
     * @throws InvalidConfigurationPropertyValueException naming a bad path pattern, method or key
     */
    public RateLimitFilter(RateLimitProperties properties, RateLimitEnforcer enforcer, ClientIpResolver ips,
            TierResolver tiers, ClientKeyResolver keys, RateLimitResponses responses, BeanFactory beanFactory) {
        this(properties, enforcer, ips, tiers, keys, responses, beanFactory, false);
    }

    /**
     * Compiles the rules of {@code properties} whose {@code early} flag is {@code early}: the
     * starter registers one filter for each, at {@code ratelimit.filter-order} and
     * {@code ratelimit.early-filter-order}. Both filters record their decisions on the request, so
     * the later one's headers report every rule the request met.
     *
     * @param beanFactory resolves {@code @bean} references in SpEL keys; may be null
     * @throws InvalidConfigurationPropertyValueException naming a bad path pattern, method or key
     */
    public RateLimitFilter(RateLimitProperties properties, RateLimitEnforcer enforcer, ClientIpResolver ips,
            TierResolver tiers, ClientKeyResolver keys, RateLimitResponses responses, BeanFactory beanFactory,
            boolean early) {
        this.enforcer = enforcer;
        this.tiers = tiers;
        this.responses = responses;
        this.apiKeyHeader = properties.getApiKeyHeader();
        this.rejectUnknownApiKeys = properties.getUnknownApiKey() == RateLimitProperties.UnknownApiKey.REJECT;
        this.excludedSources = List.copyOf(properties.getExcludePaths());
        this.excluded = patterns("ratelimit.exclude-paths", excludedSources, PathPatternParser.defaultInstance);
        Set<String> shadowed = new HashSet<>();
        for (RateLimitEnforcer.RuleView view : enforcer.rules()) {
            if (view.shadow()) {
                shadowed.add(view.name());
            }
        }
        List<WebRule> compiled = new ArrayList<>();
        for (int i = 0; i < properties.getRules().size(); i++) {
            RateLimitProperties.Rule rule = properties.getRules().get(i);
            if (rule.isEarly() != early) {
                continue;
            }
            String path = "ratelimit.rules[" + i + "]";
            if (early && rule.getKey() != null && rule.getKey().trim().equals("principal")) {
                LOG.warn(path + ".key is principal in a rule marked early, which runs before Spring Security's chain"
                        + " has authenticated anyone, so its requests are keyed by client IP instead; use key: ip, or"
                        + " leave the rule in the main filter");
            } else if (early && rule.getKey() != null && readsTheUser(rule.getKey())) {
                LOG.warn(path + ".key reads the user in a rule marked early, which runs before Spring Security's chain"
                        + " has authenticated anyone, so the user is always null there; key by something the request"
                        + " carries itself, or leave the rule in the main filter");
            }
            Set<String> methods = methods(path + ".methods", rule.getMethods());
            ruleSources.add(List.copyOf(rule.getPaths()));
            rulePaths.add(path + ".paths");
            compiled.add(new WebRule(rule.getName(), patterns(path + ".paths", rule.getPaths(),
                    PathPatternParser.defaultInstance), methods,
                    KeyStrategy.compile(path + ".key", rule.getKey(), ips, tiers, keys, apiKeyHeader, beanFactory),
                    rule.getCost(), shadowed.contains(rule.getName())));
        }
        this.rules = List.copyOf(compiled);
    }

    /**
     * Whether a SpEL key names the user: {@code #principal}, or the request's principal or remote
     * user. A guess from the text, for a warning only; an expression that finds the user some other
     * way (a bean of its own) is not seen.
     */
    private static boolean readsTheUser(String key) {
        String text = key.toLowerCase(Locale.ROOT);
        return text.contains("#principal") || text.contains("userprincipal") || text.contains("remoteuser");
    }

    /**
     * Reads the paths of the rules and of {@code exclude-paths} with {@code parser}, the parser Spring
     * MVC maps handlers with (its {@code mvcPatternParser} bean, which {@code configurePathMatch} may
     * replace): with one that ignores case, {@code /API/items} reaches the {@code /api/items}
     * handler, so a rule on {@code /api/**} must cover it too. The starter calls this once the
     * application's beans exist, before the server takes requests.
     *
     * @throws InvalidConfigurationPropertyValueException naming a pattern that parser refuses
     */
    public void usePatternParser(PathPatternParser parser) {
        if (RequestPaths.Pattern.isDefault(parser)) {
            return; // the patterns read now are the ones compiled at start-up
        }
        List<WebRule> recompiled = new ArrayList<>(rules.size());
        for (int i = 0; i < rules.size(); i++) {
            WebRule rule = rules.get(i);
            recompiled.add(new WebRule(rule.name(), patterns(rulePaths.get(i), ruleSources.get(i), parser),
                    rule.methods(), rule.key(), rule.cost(), rule.shadow()));
        }
        this.excluded = patterns("ratelimit.exclude-paths", excludedSources, parser);
        this.rules = List.copyOf(recompiled);
    }

    /**
     * By rule name, the key each rule of {@code properties} with a {@code key} of its own gives a
     * request, compiled as the filter compiles it: what {@code @RateLimited(rule = ...)} counts a
     * call under, so that the method and the rule's paths share the client's bucket.
     *
     * @param beanFactory resolves {@code @bean} references in SpEL keys; may be null
     * @throws InvalidConfigurationPropertyValueException naming a bad key
     */
    public static Map<String, Function<HttpServletRequest, String>> ruleKeys(RateLimitProperties properties,
            ClientIpResolver ips, TierResolver tiers, ClientKeyResolver keys, BeanFactory beanFactory) {
        Map<String, Function<HttpServletRequest, String>> ruleKeys = new HashMap<>();
        for (int i = 0; i < properties.getRules().size(); i++) {
            RateLimitProperties.Rule rule = properties.getRules().get(i);
            // a rule without a name is refused by the enforcer's checks, which name the property
            if (rule.getName() != null && rule.getKey() != null && !rule.getKey().isBlank()) {
                KeyStrategy key = KeyStrategy.compile("ratelimit.rules[" + i + "].key", rule.getKey(), ips, tiers, keys,
                        properties.getApiKeyHeader(), beanFactory);
                ruleKeys.put(rule.getName(), key::key);
            }
        }
        return ruleKeys;
    }

    @Override
    public void doFilter(ServletRequest servletRequest, ServletResponse servletResponse, FilterChain chain)
            throws IOException, ServletException {
        if (!(servletRequest instanceof HttpServletRequest request)
                || !(servletResponse instanceof HttpServletResponse response)
                || request.getDispatcherType() != DispatcherType.REQUEST) {
            chain.doFilter(servletRequest, servletResponse);
            return;
        }
        RequestPaths.Path path = RequestPaths.Path.of(request.getRequestURI(), request.getContextPath());
        List<WebRule> matching = matching(request.getMethod(), CorsUtils.isPreFlightRequest(request), path);
        if (matching.isEmpty()) {
            chain.doFilter(request, response);
            return;
        }
        Object earlier = request.getAttribute(RateLimitResult.REQUEST_ATTRIBUTE);
        String clientTier = tiers.resolve(request);
        if (earlier instanceof RateLimitResult gathered) {
            matching = undecided(gathered, matching, request, clientTier);
            if (matching.isEmpty()) {
                chain.doFilter(request, response);
                return;
            }
        }
        boolean reject = false;
        if (rejectUnknownApiKeys && clientTier == null) {
            String apiKey = request.getHeader(apiKeyHeader);
            if (apiKey != null && !apiKey.isBlank()) {
                if (!allShadowed(matching)) {
                    reject = true;
                } else {
                    // Shadow mode never refuses: report the 401 it would send, then limit the request as
                    // if it carried no key, which is what unknown-api-key: ip would do.
                    logShadowedRejection(matching, apiKey);
                }
            }
        }
        // An unknown key counts as none (the key strategies fall back past it), so a refused key is
        // counted too: else a client could guess keys as fast as the server answers 401.
        RateLimitResult result = enforcer.enforce(checks(matching, request, clientTier)).after(earlier);
        request.setAttribute(RateLimitResult.REQUEST_ATTRIBUTE, result);
        if (reject && result.allowed()) {
            responses.writeHeaders(response, result, earlier == null);
            responses.writeUnknownApiKey(request, response, apiKeyHeader);
            return;
        }
        if (result.allowed()) {
            // Nothing of ours on the response yet unless an earlier filter wrote it: then add, not replace.
            responses.writeHeaders(response, result, earlier == null);
            chain.doFilter(request, response);
        } else {
            responses.writeTooManyRequests(request, response, result);
        }
    }

    /** Whether every matching rule is in shadow mode, so that none of them may refuse the request. */
    private static boolean allShadowed(List<WebRule> matching) {
        for (WebRule rule : matching) {
            if (!rule.shadow()) {
                return false;
            }
        }
        return true;
    }

    private void logShadowedRejection(List<WebRule> matching, String apiKey) {
        if (SHADOW_LOG.isDebugEnabled()) {
            StringBuilder names = new StringBuilder();
            for (WebRule rule : matching) {
                names.append(names.isEmpty() ? "" : ",").append(rule.name());
            }
            SHADOW_LOG.debug("Shadow mode, would reject unknown API key in header " + apiKeyHeader + " rule=" + names
                    + " key=" + ClientKeys.redact("key:" + apiKey));
        }
    }

    /**
     * The matching rules that have not decided the request yet. A rule has when this filter saw the
     * request before (registered twice, say), or when a {@code @RateLimited} call under the same
     * rule ran first and was admitted; the request must not pay twice for it, but the other rules
     * still apply.
     */
    private List<WebRule> undecided(RateLimitResult gathered, List<WebRule> matching, HttpServletRequest request,
            String clientTier) {
        List<WebRule> left = null;
        for (int i = 0; i < matching.size(); i++) {
            WebRule rule = matching.get(i);
            if (decides(gathered, rule, request, clientTier)) {
                if (left == null) {
                    left = new ArrayList<>(matching.subList(0, i));
                }
            } else if (left != null) {
                left.add(rule);
            }
        }
        return left == null ? matching : left;
    }

    /**
     * Whether {@code gathered} admitted the request under the rule, in the bucket this filter would
     * take from: the same tier and key. A denial does not count: it took nothing, and the request
     * went on only because the application caught the call's exception, so the rule's paths must
     * still be decided here. Nor does a call under a key of its own ({@code key = "#username"}): it
     * spent another bucket, and a client naming a new one on each request would otherwise never be
     * counted under the rule's key.
     */
    private boolean decides(RateLimitResult gathered, WebRule rule, HttpServletRequest request, String clientTier) {
        RateLimitEnforcer.Check check = null;
        for (RuleDecision decision : gathered.decisions()) {
            if (rule.name().equals(decision.rule()) && decision.decision().allowed()) {
                if (check == null) {
                    check = rule.check(enforcer, request, clientTier);
                }
                if (check.key().equals(decision.key()) && Objects.equals(check.tier(), decision.tier())) {
                    return true;
                }
            }
        }
        return false;
    }

    private List<RateLimitEnforcer.Check> checks(List<WebRule> matching, HttpServletRequest request,
            String clientTier) {
        if (matching.size() == 1) { // the usual case: one immutable element, no array list to grow and copy
            return List.of(matching.get(0).check(enforcer, request, clientTier));
        }
        List<RateLimitEnforcer.Check> checks = new ArrayList<>(matching.size());
        for (WebRule rule : matching) {
            checks.add(rule.check(enforcer, request, clientTier));
        }
        return checks;
    }

    /** The rules that apply, in order; a list is built only when more than one does. */
    private List<WebRule> matching(String method, boolean preflight, RequestPaths.Path path) {
        for (RequestPaths.Pattern pattern : excluded) {
            if (pattern.excludes(path)) {
                return List.of();
            }
        }
        WebRule first = null;
        List<WebRule> more = null;
        for (WebRule rule : rules) {
            if (rule.matches(method, preflight, path)) {
                if (first == null) {
                    first = rule;
                } else {
                    if (more == null) {
                        more = new ArrayList<>(rules.size());
                        more.add(first);
                    }
                    more.add(rule);
                }
            }
        }
        return more != null ? more : first != null ? List.of(first) : List.of();
    }

    /**
     * The methods of a rule, in upper case, as servlet containers report them. Any other name, a
     * misspelt {@code GTE} say, would match no request, so it stops start-up.
     */
    private static Set<String> methods(String path, List<String> methods) {
        Set<String> compiled = new HashSet<>();
        for (int i = 0; i < methods.size(); i++) {
            String method = methods.get(i);
            String upper = method == null ? "" : method.trim().toUpperCase(Locale.ROOT);
            if (!METHODS.contains(upper)) {
                throw new InvalidConfigurationPropertyValueException(path + "[" + i + "]", method,
                        "must be one of " + String.join(", ", METHODS));
            }
            compiled.add(upper);
        }
        return Set.copyOf(compiled);
    }

    private static List<RequestPaths.Pattern> patterns(String path, List<String> patterns, PathPatternParser parser) {
        List<RequestPaths.Pattern> compiled = new ArrayList<>(patterns.size());
        for (int i = 0; i < patterns.size(); i++) {
            String pattern = patterns.get(i);
            // Spring parses "api/**" happily, but no path within the application lacks its leading slash.
            if (pattern == null || !pattern.startsWith("/")) {
                throw new InvalidConfigurationPropertyValueException(path + "[" + i + "]", pattern,
                        "must start with /, as paths are matched within the application, such as /api/**");
            }
            try {
                compiled.add(RequestPaths.Pattern.compile(pattern, parser));
            } catch (PatternParseException e) {
                throw new InvalidConfigurationPropertyValueException(path + "[" + i + "]", pattern,
                        "is not a valid path pattern: " + e.getMessage());
            }
        }
        return List.copyOf(compiled);
    }

    /**
     * A compiled rule: empty paths or methods cover all. A rule for GET also covers HEAD, which
     * Spring MVC serves with the GET handler; otherwise HEAD would be a free way around the limit.
     * A CORS preflight is the browser asking before the real request, which the rule counts, so
     * only a rule that names OPTIONS counts it: else every cross-origin call would pay twice.
     * {@code shadow}: the rule only reports, so it does not refuse an unknown API key either.
     */
    private record WebRule(String name, List<RequestPaths.Pattern> paths, Set<String> methods, KeyStrategy key,
            long cost, boolean shadow) {

        RateLimitEnforcer.Check check(RateLimitEnforcer enforcer, HttpServletRequest request, String clientTier) {
            return new RateLimitEnforcer.Check(name, enforcer.tierFor(name, clientTier), key.key(request), cost);
        }

        boolean matches(String method, boolean preflight, RequestPaths.Path path) {
            if (methods.isEmpty() ? preflight
                    : !methods.contains(method) && !("HEAD".equals(method) && methods.contains("GET"))) {
                return false;
            }
            if (paths.isEmpty()) {
                return true;
            }
            for (RequestPaths.Pattern pattern : paths) {
                if (pattern.covers(path)) {
                    return true;
                }
            }
            return false;
        }
    }
}
