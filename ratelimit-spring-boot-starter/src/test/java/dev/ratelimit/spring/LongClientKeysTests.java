package dev.ratelimit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ratelimit.core.ManualTicker;
import dev.ratelimit.core.RateLimiter;
import java.lang.reflect.InvocationTargetException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A client can write its own key: a {@code header:} rule, a SpEL key over a request parameter or a
 * method argument ({@code key = "#email"}), an application's resolver. {@code memory.max-keys}
 * bounds how many keys a limiter keeps, and a key kept whole would let each of them hold whatever
 * the client sent, megabytes in a request body. So what reaches a limiter is bounded in length,
 * while each client keeps a bucket of its own.
 */
class LongClientKeysTests {

    private final ManualTicker ticker = new ManualTicker();
    /** Every key the limiters were handed. */
    private final List<String> seen = new CopyOnWriteArrayList<>();

    @Test
    void whatALimiterKeepsOfAKeyIsBoundedWhateverTheClientSent() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        RateLimitEnforcer enforcer = enforcer();
        String huge = "header:" + randomText(random, 1_000_000);
        String twin = huge.substring(0, huge.length() - 1) + (huge.endsWith("a") ? "b" : "a");

        assertThat(remaining(enforcer, huge)).isEqualTo(1);
        assertThat(remaining(enforcer, twin)).as("a key differing in its last character is another client").isEqualTo(1);
        assertThat(remaining(enforcer, huge)).as("the same long key is the same bucket").isEqualTo(0);
        assertThat(enforcer.peek("api", huge).get("free").remaining()).as("peek finds it by the key").isZero();
        enforcer.reset("api", huge);
        assertThat(enforcer.peek("api", huge).get("free").remaining()).as("and so does reset").isEqualTo(2);

        assertThat(seen).isNotEmpty();
        assertThat(seen.stream().mapToInt(String::length).max().orElseThrow()).as("longest key kept (seed %d)", seed)
                .isLessThanOrEqualTo(256);
    }

    @Test
    void shortKeysReachTheLimiterAsTheyAre() {
        RateLimitEnforcer enforcer = enforcer();
        String longest = "header:" + "x".repeat(249);
        for (String key : List.of("ip:192.0.2.1", "ip:2001:db8:0:1:0:0:0:0/64", "user:alice", longest)) {
            remaining(enforcer, key);
            assertThat(seen).last().isEqualTo(key);
        }
    }

    /**
     * A short key written to look like what a long one becomes is not kept as it is either, so that
     * no client can name another's bucket.
     */
    @Test
    void aShortKeyCannotNameTheBucketALongKeyGets() {
        RateLimitEnforcer enforcer = enforcer();
        String huge = "header:" + "y".repeat(10_000);
        remaining(enforcer, huge);
        String stored = seen.get(seen.size() - 1);
        assertThat(stored.length()).as("the long key is not kept whole").isLessThan(huge.length());
        assertThat(remaining(enforcer, stored)).as("a client sending the stored form gets a bucket of its own").isEqualTo(1);
        assertThat(seen).last().isNotEqualTo(stored);
    }

    /**
     * An API key is a secret, and a Redis store writes the limiter key into key names that anyone
     * operating Redis can list: it reaches the limiter as a digest, however short, and peek and
     * reset still find its bucket by the key itself.
     */
    @Test
    void anApiKeyReachesTheLimiterOnlyAsItsDigest() throws Exception {
        RateLimitEnforcer enforcer = enforcer();
        String key = "key:sk-live-0123456789";
        assertThat(remaining(enforcer, key)).isEqualTo(1);
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(key.getBytes(StandardCharsets.UTF_8)));
        assertThat(seen).last().isEqualTo("key:sha256=" + digest);
        assertThat(remaining(enforcer, key)).as("the same bucket").isZero();
        assertThat(enforcer.peek("api", key).get("free").remaining()).isZero();
        enforcer.reset("api", key);
        assertThat(enforcer.peek("api", key).get("free").remaining()).isEqualTo(2);
        assertThat(seen).noneMatch(stored -> stored.contains("sk-live"));
    }

    private static long remaining(RateLimitEnforcer enforcer, String key) {
        return enforcer.enforce(List.of(new RateLimitEnforcer.Check("api", "free", key, 1))).decisions().get(0)
                .decision().remaining();
    }

    private RateLimitEnforcer enforcer() {
        RateLimitProperties properties = new RateLimitProperties();
        RateLimitProperties.TierLimit limit = new RateLimitProperties.TierLimit();
        limit.setLimit(2);
        limit.setPeriod(Duration.ofMinutes(1));
        RateLimitProperties.Tier free = new RateLimitProperties.Tier();
        free.getLimits().add(limit);
        properties.getTiers().put("free", free);
        RateLimitProperties.Rule rule = new RateLimitProperties.Rule();
        rule.setName("api");
        properties.getRules().add(rule);
        return new RateLimitEnforcer(properties, (name, policy) -> recording(RateLimiter.builder()
                .algorithm(policy.algorithm()).limits(policy.limits()).ticker(ticker).build()));
    }

    /** {@code limiter}, noting every key it is handed. */
    private RateLimiter recording(RateLimiter limiter) {
        return (RateLimiter) Proxy.newProxyInstance(RateLimiter.class.getClassLoader(), new Class<?>[] {RateLimiter.class},
                (proxy, method, args) -> {
                    if (args != null && args.length > 0 && args[0] instanceof String key) {
                        seen.add(key);
                    }
                    try {
                        return method.invoke(limiter, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static String randomText(Random random, int length) {
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.append((char) ('a' + random.nextInt(26)));
        }
        return text.toString();
    }
}
