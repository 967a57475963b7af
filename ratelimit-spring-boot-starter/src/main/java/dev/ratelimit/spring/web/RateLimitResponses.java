package dev.ratelimit.spring.web;

import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import dev.ratelimit.spring.RateLimitProperties.HeaderFormat;
import dev.ratelimit.spring.RateLimitResult;
import dev.ratelimit.spring.RuleDecision;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;

/**
 * Writes what clients see: rate-limit headers and RFC 9457 problem responses. Shared by the filter,
 * {@code @RateLimited} methods and the exception resolver, so every 429 looks the same.
 *
 * <p>Seconds are rounded up, so a client that waits as long as it is told is never early.
 */
public final class RateLimitResponses {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final HeaderFormat format;
    private final String problemType;
    /** One entry per rule and tier (a finite set), so it needs no bound. */
    private final ConcurrentHashMap<PolicyName, SinglePolicy> singlePolicies = new ConcurrentHashMap<>();
    private volatile SinglePolicy lastSingle;

    /**
     * Creates a writer.
     *
     * @param format      which headers to write
     * @param problemType the {@code type} member of problem responses
     */
    public RateLimitResponses(HeaderFormat format, String problemType) {
        this.format = format;
        this.problemType = problemType;
    }

    /** Sets the headers for {@code result}, replacing any set before; a denial adds {@code Retry-After}. */
    public void writeHeaders(HttpServletResponse response, RateLimitResult result) {
        writeHeaders(response, result, false);
    }

    /**
     * Writes the headers for {@code result}; a denial adds {@code Retry-After}.
     *
     * @param fresh whether the response holds none of these headers yet, so that they can be added
     *              rather than set: setting one first looks for an earlier value among the
     *              response's headers (Tomcat compares every name, ignoring case)
     */
    public void writeHeaders(HttpServletResponse response, RateLimitResult result, boolean fresh) {
        if (result.decisions().isEmpty()) {
            return;
        }
        if (result.decisions().size() == 1) {
            RuleDecision rule = result.decisions().get(0);
            // headers: none formats nothing here: under wrk, the two Long.toString calls were 6 % of
            // the filter's own samples (async-profiler), for headers that were then dropped.
            if (format.ietf() || format.legacy()) {
                writeSingle(response, fresh, rule);
            }
            if (!rule.decision().allowed()) {
                writeRetryAfter(response, fresh, rule.decision());
            }
            return;
        }
        if (format.ietf()) {
            writeIetf(response, fresh, result);
        }
        if (format.legacy()) {
            Decision binding = result.binding().orElseThrow().decision();
            writeLegacy(response, fresh, Long.toString(binding.limit()), Long.toString(binding.remaining()),
                    Long.toString(ceilSeconds(binding.resetAfterNanos())));
        }
        result.denial().ifPresent(denial -> writeRetryAfter(response, fresh, denial.decision()));
    }

    private static void put(HttpServletResponse response, boolean fresh, String name, String value) {
        if (fresh) {
            response.addHeader(name, value);
        } else {
            response.setHeader(name, value);
        }
    }

    /**
     * The usual case, one rule: its {@code RateLimit-Policy} value and limits are the same on every
     * response, and the remaining and reset figures are formatted once for both header formats.
     * Only for a format that writes them; the caller adds {@code Retry-After}.
     */
    private void writeSingle(HttpServletResponse response, boolean fresh, RuleDecision rule) {
        Decision decision = rule.decision();
        SinglePolicy single = single(rule);
        int binding = single.binding(decision.limit());
        String remaining = Long.toString(decision.remaining());
        String reset = Long.toString(ceilSeconds(decision.resetAfterNanos()));
        if (format.ietf()) {
            put(response, fresh, "RateLimit-Policy", single.header());
            put(response, fresh, "RateLimit", single.quotedNames()[binding] + ";r=" + remaining + ";t=" + reset);
        }
        if (format.legacy()) {
            String limit = single.capacities()[binding] == decision.limit() ? single.capacityTexts()[binding]
                    : Long.toString(decision.limit());
            writeLegacy(response, fresh, limit, remaining, reset);
        }
    }

    /**
     * The rule's {@link SinglePolicy}. The last one used is checked first, by identity of the policy
     * (each limiter keeps one instance): hashing a {@link Policy} walks its limits, on every request.
     */
    private SinglePolicy single(RuleDecision rule) {
        SinglePolicy last = lastSingle;
        if (last != null && last.policy() == rule.policy() && last.name().equals(rule.policyName())) {
            return last;
        }
        last = singlePolicies.computeIfAbsent(new PolicyName(rule.policyName(), rule.policy()),
                key -> SinglePolicy.of(key.name(), key.policy()));
        lastSingle = last;
        return last;
    }

    private static void writeLegacy(HttpServletResponse response, boolean fresh, String limit, String remaining,
            String reset) {
        put(response, fresh, "X-RateLimit-Limit", limit);
        put(response, fresh, "X-RateLimit-Remaining", remaining);
        put(response, fresh, "X-RateLimit-Reset", reset);
    }

    private static void writeRetryAfter(HttpServletResponse response, boolean fresh, Decision denial) {
        put(response, fresh, "Retry-After", Long.toString(Math.max(1, ceilSeconds(denial.retryAfterNanos()))));
    }

    /** Answers 429 with the headers and a problem body naming the violated policy. */
    public void writeTooManyRequests(HttpServletRequest request, HttpServletResponse response, RateLimitResult result)
            throws IOException {
        RuleDecision denial = result.denial().orElseThrow(() -> new IllegalArgumentException("result was not denied"));
        writeHeaders(response, result);
        long seconds = Math.max(1, ceilSeconds(denial.decision().retryAfterNanos()));
        writeProblem(request, response, problemType, 429, "Too Many Requests",
                "Rate limit of policy \"" + denial.policyName() + "\" exceeded; retry in " + seconds
                        + (seconds == 1 ? " second." : " seconds."),
                ",\"policies\":[" + json(names(result).get(result.decisions().indexOf(denial))) + "]");
    }

    /** Answers 401 for an API key that maps to no tier. */
    public void writeUnknownApiKey(HttpServletRequest request, HttpServletResponse response, String header)
            throws IOException {
        response.setHeader("WWW-Authenticate", "ApiKey header=\"" + header + "\"");
        writeProblem(request, response, problemType, 401, "Unauthorized", "Unknown API key in header " + header + ".", "");
    }

    /**
     * Answers 503 when limits cannot be checked (a shared store is down and configured to refuse):
     * the client did nothing wrong, so not 429, and the body does not reveal the cause.
     *
     * @param type              the problem type, such as the IANA {@code temporary-reduced-capacity}
     * @param retryAfterSeconds the {@code Retry-After} value, at least 1
     */
    public void writeUnavailable(HttpServletRequest request, HttpServletResponse response, String type,
            long retryAfterSeconds) throws IOException {
        response.setHeader("Retry-After", Long.toString(Math.max(1, retryAfterSeconds)));
        writeProblem(request, response, type, 503, "Service Unavailable",
                "Rate limits cannot be checked right now; retry later.", "");
    }

    private static void writeProblem(HttpServletRequest request, HttpServletResponse response, String type, int status,
            String title, String detail, String extra) throws IOException {
        String body = "{\"type\":" + json(type) + ",\"title\":" + json(title) + ",\"status\":" + status
                + ",\"detail\":" + json(detail) + ",\"instance\":" + json(request.getRequestURI()) + extra + "}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.setContentType("application/problem+json"); // JSON is UTF-8 by definition (RFC 8259)
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
        response.flushBuffer();
    }

    /**
     * With several rules: {@code RateLimit-Policy} lists each limit of each policy, {@code RateLimit}
     * the state of the limit that binds in each policy.
     */
    private void writeIetf(HttpServletResponse response, boolean fresh, RateLimitResult result) {
        List<String> names = names(result);
        List<String> policies = new ArrayList<>();
        List<String> states = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int d = 0; d < result.decisions().size(); d++) {
            RuleDecision rule = result.decisions().get(d);
            // not single(rule): that would make the last-used cache of the single-rule path flip between rules
            SinglePolicy policy = singlePolicies.computeIfAbsent(new PolicyName(rule.policyName(), rule.policy()),
                    key -> SinglePolicy.of(key.name(), key.policy()));
            for (int i = 0; i < policy.quotas().length; i++) {
                String name = limitName(names.get(d), i);
                if (seen.add(name)) {
                    policies.add(json(name) + policy.quotas()[i]);
                }
            }
            int binding = policy.binding(rule.decision().limit());
            states.add(json(limitName(names.get(d), binding)) + ";r=" + rule.decision().remaining()
                    + ";t=" + ceilSeconds(rule.decision().resetAfterNanos()));
        }
        put(response, fresh, "RateLimit-Policy", String.join(", ", policies));
        put(response, fresh, "RateLimit", String.join(", ", states));
    }

    private record PolicyName(String name, Policy policy) {
    }

    /**
     * A single rule's header parts, computed once per policy name and policy: the
     * {@code RateLimit-Policy} value, and each limit's quoted name, capacity and capacity as text;
     * and the order in which {@link #binding} tries the limits.
     */
    private record SinglePolicy(String name, Policy policy, String header, String[] quotedNames, String[] quotas,
            long[] capacities, String[] capacityTexts, int[] bindingOrder) {

        static SinglePolicy of(String name, Policy policy) {
            List<Limit> limits = policy.limits();
            List<String> policies = new ArrayList<>();
            String[] quoted = new String[limits.size()];
            String[] quotas = new String[limits.size()];
            long[] capacities = new long[limits.size()];
            String[] capacityTexts = new String[limits.size()];
            for (int i = 0; i < limits.size(); i++) {
                quoted[i] = json(limitName(name, i));
                capacities[i] = limits.get(i).capacity();
                capacityTexts[i] = Long.toString(capacities[i]);
                quotas[i] = quotaAndWindow(limits.get(i));
                policies.add(quoted[i] + quotas[i]);
            }
            int[] order = IntStream.range(0, limits.size()).boxed()
                    .sorted(Comparator.comparing(limits::get, SinglePolicy::slowerFirst)).mapToInt(i -> i).toArray();
            return new SinglePolicy(name, policy, String.join(", ", policies), quoted, quotas, capacities, capacityTexts,
                    order);
        }

        /**
         * The binding limit: one whose capacity is the decision's {@code limit}, else the first.
         * {@link Decision} gives the binding limit's capacity, not its index, so limits that share a
         * capacity are told apart by rate: the slowest binds. For a token or leaky bucket that is
         * exact: both start full and every decision takes the same permits from both, so the one that
         * refills more slowly never holds more. So it is for the sliding log, whose longer window
         * counts every request a shorter one does; for windows that do not nest (fixed windows, the
         * sliding counter) it is the likelier one.
         */
        int binding(long limit) {
            for (int i : bindingOrder) {
                if (capacities[i] == limit) {
                    return i;
                }
            }
            return 0;
        }

        /**
         * Slower rate first, then longer period; a stable sort keeps equal limits in their order. The
         * products reach 10^12 × 3.2 × 10^16 nanoseconds, so they are compared in 128 bits.
         */
        private static int slowerFirst(Limit a, Limit b) {
            int byRate = compare128(a.permits(), b.periodNanos(), b.permits(), a.periodNanos());
            return byRate != 0 ? byRate : Long.compare(b.periodNanos(), a.periodNanos());
        }

        /** Compares x1 × y1 with x2 × y2, for non-negative factors, without overflow. */
        private static int compare128(long x1, long y1, long x2, long y2) {
            int high = Long.compare(Math.multiplyHigh(x1, y1), Math.multiplyHigh(x2, y2));
            return high != 0 ? high : Long.compareUnsigned(x1 * y1, x2 * y2);
        }
    }

    /** Policy names per decision: the tier, qualified by the rule when two rules share a tier. */
    private static List<String> names(RateLimitResult result) {
        List<String> names = new ArrayList<>();
        for (RuleDecision decision : result.decisions()) {
            String name = decision.policyName();
            names.add(names.contains(name) ? decision.rule() + "-" + name : name);
        }
        return names;
    }

    private static String limitName(String policy, int index) {
        return index == 0 ? policy : policy + "-" + (index + 1);
    }

    /**
     * {@code ;q=10;w=60}. The draft's window is whole seconds, so a period that is not is scaled to
     * the shortest whole-second window holding a whole quota at the same rate: 5 per 200 ms is
     * {@code q=25;w=1}, 1 per 300 ms {@code q=10;w=3}. When that window would be longer than an hour
     * and than the period, the period is rounded up with the quota kept, which states a rate a
     * little lower than the limit's, never higher. Computed once per policy (see SinglePolicy).
     */
    private static String quotaAndWindow(Limit limit) {
        long periodNanos = limit.periodNanos();
        long roundedUp = Math.max(1, ceilSeconds(periodNanos));
        if (periodNanos % NANOS_PER_SECOND != 0) {
            BigInteger period = BigInteger.valueOf(periodNanos);
            BigInteger permitNanos = BigInteger.valueOf(limit.permits()).multiply(BigInteger.valueOf(NANOS_PER_SECOND));
            BigInteger gcd = period.gcd(permitNanos);
            BigInteger window = period.divide(gcd);
            if (window.compareTo(BigInteger.valueOf(Math.max(3_600, roundedUp))) <= 0) {
                return ";q=" + permitNanos.divide(gcd) + ";w=" + window;
            }
        }
        return ";q=" + limit.permits() + ";w=" + roundedUp;
    }

    static long ceilSeconds(long nanos) {
        return nanos / NANOS_PER_SECOND + (nanos % NANOS_PER_SECOND == 0 ? 0 : 1);
    }

    /** A JSON string, which for the names used here is also a valid structured-field string. */
    static String json(String value) {
        StringBuilder out = new StringBuilder(value.length() + 2).append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
