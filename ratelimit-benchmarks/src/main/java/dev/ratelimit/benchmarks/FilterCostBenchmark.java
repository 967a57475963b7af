package dev.ratelimit.benchmarks;

import dev.ratelimit.core.RateLimiter;
import dev.ratelimit.core.Ticker;
import dev.ratelimit.spring.RateLimitEnforcer;
import dev.ratelimit.spring.RateLimitProperties;
import dev.ratelimit.spring.RateLimitResult;
import dev.ratelimit.spring.RateLimiterFactory;
import dev.ratelimit.spring.web.ApiKeyTierResolver;
import dev.ratelimit.spring.web.ClientIpResolver;
import dev.ratelimit.spring.web.DefaultClientKeyResolver;
import dev.ratelimit.spring.web.RateLimitFilter;
import dev.ratelimit.spring.web.RateLimitResponses;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Diagnosis for the HTTP benchmark (section 4): what {@link RateLimitFilter} itself costs per request,
 * outside any server, so that its share of a request can be measured without wrk's noise. The filter
 * is built as the auto-configuration builds it, configured like {@code ratelimit-benchmarks/http/ours}
 * (tier {@code free} of 10^9 a second, so every call is admitted; one rule on {@code /hello} keyed by
 * {@code ip}), and called with Spring's mock request and response and a chain that does nothing:
 * <ul>
 *   <li>{@code filter=none}: an empty {@link OncePerRequestFilter}, the floor;
 *   <li>{@code filter=ratelimit}: the starter's filter.
 * </ul>
 * {@code path=/hello} is admitted by the rule; {@code path=/other} matches no rule, so it measures
 * what a request the filter lets straight through still pays.
 *
 * <p>Each call gets a fresh copy of the URI string, as a server hands out for each request, so no
 * cached hash code flatters the filter; then the result attribute is removed and the response reset,
 * so every call sees the same request. The mock response keeps headers in a case-insensitive map that
 * lower-cases each name, dearer than Tomcat's: with {@code response=mock} the header writing is
 * overstated, and about half of the filter's time is the mock's. {@code response=sink} wraps it in a
 * response that only keeps the last header value, which isolates the filter's own work.
 *
 * <pre>{@code
 * ./mvnw -q -pl ratelimit-benchmarks -am package -DskipTests
 * java -jar ratelimit-benchmarks/target/benchmarks.jar FilterCost -f 1 -wi 3 -i 3 -w 1s -r 1s -prof gc
 * }</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
public class FilterCostBenchmark {

    private static final FilterChain NOTHING = (request, response) -> {
    };

    @State(Scope.Thread)
    public static class Call {
        @Param({"none", "ratelimit"})
        public String filter;

        @Param({"/hello", "/other"})
        public String path;

        @Param({"mock", "sink"})
        public String response;

        Filter under;
        MockHttpServletRequest request;
        MockHttpServletResponse mock;
        HttpServletResponse passed;

        @Setup(Level.Trial)
        public void build() {
            under = switch (filter) {
                case "none" -> new OncePerRequestFilter() {
                    @Override
                    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response,
                            FilterChain chain) throws jakarta.servlet.ServletException, IOException {
                        chain.doFilter(request, response);
                    }
                };
                case "ratelimit" -> ratelimit();
                default -> throw new IllegalArgumentException(filter);
            };
            request = new MockHttpServletRequest("GET", path);
            request.setRemoteAddr("192.0.2.7");
            mock = new MockHttpServletResponse();
            passed = switch (response) {
                case "mock" -> mock;
                case "sink" -> new Sink(mock);
                default -> throw new IllegalArgumentException(response);
            };
        }

        /** As {@code RateLimitAutoConfiguration} builds it from the {@code ours} application's YAML. */
        private static RateLimitFilter ratelimit() {
            RateLimitProperties properties = new RateLimitProperties();
            RateLimitProperties.TierLimit limit = new RateLimitProperties.TierLimit();
            limit.setLimit(1_000_000_000L);
            limit.setPeriod(Duration.ofSeconds(1));
            RateLimitProperties.Tier free = new RateLimitProperties.Tier();
            free.setLimits(List.of(limit));
            properties.getTiers().put("free", free);
            RateLimitProperties.Rule rule = new RateLimitProperties.Rule();
            rule.setName("hello");
            rule.setPaths(List.of("/hello"));
            rule.setKey("ip");
            properties.getRules().add(rule);
            long maxKeys = properties.getMemory().getMaxKeys();
            RateLimiterFactory factory = (name, policy) -> RateLimiter.builder()
                    .algorithm(policy.algorithm())
                    .limits(policy.limits())
                    .ticker(Ticker.system())
                    .maxKeys(maxKeys)
                    .build();
            RateLimitEnforcer enforcer = new RateLimitEnforcer(properties, factory, List.of());
            ClientIpResolver ips = new ClientIpResolver(properties.getTrustedProxies(), properties.getIpv6PrefixLength());
            ApiKeyTierResolver tiers = new ApiKeyTierResolver(properties.getApiKeys(), properties.getApiKeyHeader());
            return new RateLimitFilter(properties, enforcer, ips, tiers,
                    new DefaultClientKeyResolver(ips, tiers, properties.getApiKeyHeader()),
                    new RateLimitResponses(properties.getHeaders(), properties.getProblemType()), null);
        }
    }

    /** Keeps only the last header value, so that the values must still be computed. */
    static final class Sink extends HttpServletResponseWrapper {
        String last;

        Sink(HttpServletResponse response) {
            super(response);
        }

        @Override
        public void setHeader(String name, String value) {
            last = value;
        }

        @Override
        public void addHeader(String name, String value) {
            last = value;
        }
    }

    @Benchmark
    public Object doFilter(Call call) throws Exception {
        call.request.setRequestURI(new String(call.path));
        call.under.doFilter(call.request, call.passed, NOTHING);
        call.request.removeAttribute(RateLimitResult.REQUEST_ATTRIBUTE);
        call.mock.reset();
        return call.passed instanceof Sink sink ? sink.last : call.mock;
    }
}
