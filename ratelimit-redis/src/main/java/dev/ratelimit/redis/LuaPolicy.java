package dev.ratelimit.redis;

import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Limit;
import dev.ratelimit.core.Policy;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A {@link Policy} as its Lua script sees it: the script text, the limits as arguments in
 * microseconds, and the checks that keep every number the script forms an exact double.
 *
 * <p>Redis's Lua numbers are doubles, exact for integers below 2<sup>53</sup>; the scripts keep
 * every integer below 2<sup>52</sup> so that a rounded quotient is off by at most one and can be
 * corrected. Hence these bounds, checked here so that a limiter is refused rather than rounded:
 * <ul>
 *   <li>every period is a whole number of microseconds (Redis time has microsecond resolution);
 *   <li>token and leaky bucket: {@code capacity * P' + R < 2^52}, where {@code R/P'} is
 *       {@code permits/period(µs)} reduced by their gcd;
 *   <li>sliding window counter: {@code capacity * period(µs) < 2^52}.
 * </ul>
 * Fixed window and sliding log need nothing more: their counts are at most 10<sup>12</sup>.
 */
final class LuaPolicy {

    static final long EXACT = 1L << 52;

    /** The line of a flat script's body where the loop over the keys begins (see {@link #flat(String)}). */
    private static final String EACH_KEY = "--@each key";

    private final Policy policy;
    private final String script;
    private final String sha;
    private final String tag;
    private final boolean flat;
    private final List<String> limitArgs;

    private LuaPolicy(Policy policy, String script, String tag, boolean flat, List<String> limitArgs) {
        this.policy = policy;
        this.script = script;
        this.sha = sha1(script);
        this.tag = tag;
        this.flat = flat;
        this.limitArgs = List.copyOf(limitArgs);
    }

    /**
     * The policy with its fastest script: for a single limit of the token bucket, leaky bucket or
     * fixed window, a flat one (see one.lua for why); otherwise the general script.
     *
     * @throws IllegalArgumentException if a limit cannot be kept exact in Redis's doubles
     */
    static LuaPolicy of(Policy policy) {
        return of(policy, true);
    }

    /**
     * The policy with the general script, whatever its limits: common.lua's helpers and the
     * algorithm's body. The flat scripts must decide and store exactly as it does; tests compare them.
     */
    static LuaPolicy general(Policy policy) {
        return of(policy, false);
    }

    private static LuaPolicy of(Policy policy, boolean flat) {
        List<String> args = new ArrayList<>();
        args.add(Integer.toString(policy.limits().size()));
        for (Limit limit : policy.limits()) {
            long period = micros(limit);
            args.add(Long.toString(limit.capacity()));
            if (policy.algorithm() == Algorithm.TOKEN_BUCKET || policy.algorithm() == Algorithm.LEAKY_BUCKET) {
                long gcd = BigInteger.valueOf(limit.permits()).gcd(BigInteger.valueOf(period)).longValueExact();
                long rate = limit.permits() / gcd;
                long cost = period / gcd;
                requireExact(limit, BigInteger.valueOf(limit.capacity()).multiply(BigInteger.valueOf(cost))
                        .add(BigInteger.valueOf(rate)), "capacity * period(µs) / gcd(permits, period(µs)) + permits / gcd");
                args.add(Long.toString(rate));
                args.add(Long.toString(cost));
            } else {
                if (policy.algorithm() == Algorithm.SLIDING_WINDOW_COUNTER) {
                    requireExact(limit, BigInteger.valueOf(limit.capacity()).multiply(BigInteger.valueOf(period)),
                            "capacity * period(µs)");
                }
                args.add(Long.toString(period));
            }
        }
        // The flat scripts keep the same state, so the choice changes no key; their ARGV start
        // with the one limit's figures, without the number of limits (see one.lua).
        boolean one = flat && policy.limits().size() == 1;
        List<String> oneArgs = args.subList(1, args.size());
        return switch (policy.algorithm()) {
            case TOKEN_BUCKET -> one ? new LuaPolicy(policy, flat("gcra_one.lua"), "tb", true, with(oneArgs, "0"))
                    : new LuaPolicy(policy, withCommon("gcra.lua"), "tb", false, with(args, "0"));
            case LEAKY_BUCKET -> one ? new LuaPolicy(policy, flat("gcra_one.lua"), "lb", true, with(oneArgs, "1"))
                    : new LuaPolicy(policy, withCommon("gcra.lua"), "lb", false, with(args, "1"));
            case FIXED_WINDOW -> one ? new LuaPolicy(policy, flat("fixed_window_one.lua"), "fw", true, oneArgs)
                    : new LuaPolicy(policy, withCommon("fixed_window.lua"), "fw", false, args);
            case SLIDING_WINDOW_LOG -> new LuaPolicy(policy, withCommon("sliding_window_log.lua"), "swl", false, args);
            case SLIDING_WINDOW_COUNTER ->
                    new LuaPolicy(policy, withCommon("sliding_window_counter.lua"), "swc", false, args);
        };
    }

    Policy policy() {
        return policy;
    }

    String script() {
        return script;
    }

    String sha() {
        return sha;
    }

    /**
     * Names the state so that limiters of different policies never read each other's: the
     * algorithm and a hash of the limits. Changing a limit therefore starts every client afresh.
     */
    String stateName() {
        StringBuilder canonical = new StringBuilder(policy.algorithm().name());
        for (Limit limit : policy.limits()) {
            canonical.append('|').append(limit.permits()).append('/').append(limit.periodNanos())
                    .append('/').append(limit.capacity());
        }
        return tag + ":" + sha1(canonical.toString()).substring(0, 8);
    }

    /**
     * Whether the script is flat (see one.lua) rather than general (each.lua); either kind decides
     * for several keys in one call, so only the ARGV layout ({@link #args}) and the tests tell them apart.
     */
    boolean flat() {
        return flat;
    }

    /** What one key asks of the script: now (µs) or "" for Redis's TIME, op, permits, max wait (µs). */
    record Request(String now, String op, long permits, long maxWaitMicros) {
    }

    /**
     * ARGV for {@code requests[from, from + count)}, the requests for the call's KEYS in order,
     * four arguments each: for a general script the requests, then the limits (see each.lua); for
     * a flat script the limit, then the requests (see one.lua).
     */
    String[] args(Request[] requests, int from, int count) {
        String[] args = new String[4 * count + limitArgs.size()];
        int at = flat ? limitArgs.size() : 0;
        for (int i = 0; i < count; i++) {
            Request request = requests[from + i];
            args[at++] = request.now();
            args[at++] = request.op();
            args[at++] = Long.toString(request.permits());
            args[at++] = Long.toString(request.maxWaitMicros());
        }
        int limits = flat ? 0 : 4 * count;
        for (int i = 0; i < limitArgs.size(); i++) {
            args[limits + i] = limitArgs.get(i);
        }
        return args;
    }

    private static long micros(Limit limit) {
        long nanos = limit.periodNanos();
        if (nanos % 1000 != 0) {
            throw new IllegalArgumentException("period of limit " + limit
                    + " must be a whole number of microseconds, Redis's time resolution: " + limit.period());
        }
        return nanos / 1000;
    }

    private static void requireExact(Limit limit, BigInteger value, String formula) {
        if (value.compareTo(BigInteger.valueOf(EXACT)) >= 0) {
            throw new IllegalArgumentException("limit " + limit + " cannot be kept exact in Redis, whose Lua numbers"
                    + " are doubles: " + formula + " must be below 2^52 but is " + value
                    + "; use a shorter period, a smaller capacity or a rate with a larger common divisor");
        }
    }

    private static List<String> with(List<String> args, String last) {
        List<String> all = new ArrayList<>(args);
        all.add(last);
        return all;
    }

    /**
     * A general script: head.lua, common.lua, then the algorithm's {@code body}, as the function
     * that each.lua calls for every key of the call.
     */
    private static String withCommon(String body) {
        return resource("each.lua") + resource("head.lua") + "\n" + resource("common.lua") + "\n" + resource(body)
                + "\n" + resource("each_tail.lua");
    }

    /**
     * A flat single-limit script: one.lua, the algorithm's {@code body} up to its line
     * {@value #EACH_KEY} (its figures, read once per call), one_key.lua (the loop over the keys),
     * the rest of the body (one key's decision), then one_tail.lua (which stores it and ends the loop).
     */
    private static String flat(String body) {
        String text = resource(body);
        int each = text.indexOf(EACH_KEY + "\n");
        if (each < 0) {
            throw new IllegalStateException("script resource " + body + " has no line " + EACH_KEY);
        }
        return resource("one.lua") + "\n" + text.substring(0, each) + resource("one_key.lua") + "\n"
                + text.substring(each + EACH_KEY.length() + 1) + "\n" + resource("one_tail.lua");
    }

    private static String resource(String name) {
        try (InputStream in = LuaPolicy.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing script resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String sha1(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JVM", e);
        }
    }
}
