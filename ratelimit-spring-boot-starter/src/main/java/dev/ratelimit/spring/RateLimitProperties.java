package dev.ratelimit.spring;

import dev.ratelimit.core.Algorithm;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.convert.DurationUnit;

/**
 * The {@code ratelimit.*} settings. They are checked when the application starts; a bad value stops
 * it with a message naming the property and the value.
 */
@ConfigurationProperties("ratelimit")
public class RateLimitProperties {

    /** Order of the filter when Spring Security is absent or left where it is: just after its chain. */
    public static final int DEFAULT_FILTER_ORDER = -90;

    /** Default order of the filter that runs rules marked early: before Spring Security's chain, which is at -100. */
    public static final int DEFAULT_EARLY_FILTER_ORDER = -110;

    /** Whether rate limiting is enabled. */
    private boolean enabled = true;

    /** Tier for clients the tier resolver does not recognise. */
    private String defaultTier = "free";

    /** Algorithm for rules that do not name their own. */
    private Algorithm algorithm = Algorithm.TOKEN_BUCKET;

    /** Which rate-limit headers responses carry. */
    private HeaderFormat headers = HeaderFormat.BOTH;

    /** CIDRs of proxies whose forwarding header (see forwarded-header) is believed. */
    private List<String> trustedProxies = new ArrayList<>();

    /** Forwarding header that the trusted proxies write, and the only one read; the other is ignored. */
    private ForwardedHeader forwardedHeader = ForwardedHeader.X_FORWARDED_FOR;

    /** Prefix length by which IPv6 clients are grouped, so one host cannot rotate through its subnet. */
    private int ipv6PrefixLength = 64;

    /** Request header that carries the API key. */
    private String apiKeyHeader = "X-API-Key";

    /** What happens to a request whose API key maps to no tier. */
    private UnknownApiKey unknownApiKey = UnknownApiKey.IP;

    /** Order of the servlet filter; lower runs earlier. */
    private int filterOrder = DEFAULT_FILTER_ORDER;

    /** Order of the second servlet filter, which runs the rules marked early; lower than filter-order. */
    private int earlyFilterOrder = DEFAULT_EARLY_FILTER_ORDER;

    /** URI for the "type" member of problem responses. */
    private String problemType = "about:blank";

    /** Whether rules only report would-be denials (headers, metrics, a DEBUG log line) and let every request pass. */
    private boolean shadow;

    /** Where limiters keep their state: memory (this node only) or redis (shared by every node; see ratelimit.redis). */
    private Store store = Store.MEMORY;

    private final Memory memory = new Memory();

    /** Tiers by name, each with the limits its clients get. */
    private Map<String, Tier> tiers = new LinkedHashMap<>();

    /** Tier of each API key. */
    private Map<String, String> apiKeys = new LinkedHashMap<>();

    /** Tier of each API key given by its SHA-256 in hex, so that the configuration holds no secret. */
    private Map<String, String> apiKeyDigests = new LinkedHashMap<>();

    /** Rules that the filter applies to matching requests; every matching rule must admit. */
    private List<Rule> rules = new ArrayList<>();

    /** Path patterns that no rule applies to. */
    private List<String> excludePaths = new ArrayList<>();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public String getDefaultTier() {
        return defaultTier;
    }

    public void setDefaultTier(String defaultTier) {
        this.defaultTier = defaultTier;
    }

    public Algorithm getAlgorithm() {
        return algorithm;
    }

    public void setAlgorithm(Algorithm algorithm) {
        this.algorithm = algorithm;
    }

    public HeaderFormat getHeaders() {
        return headers;
    }

    public void setHeaders(HeaderFormat headers) {
        this.headers = headers;
    }

    public List<String> getTrustedProxies() {
        return trustedProxies;
    }

    public void setTrustedProxies(List<String> trustedProxies) {
        this.trustedProxies = trustedProxies;
    }

    public ForwardedHeader getForwardedHeader() {
        return forwardedHeader;
    }

    public void setForwardedHeader(ForwardedHeader forwardedHeader) {
        this.forwardedHeader = forwardedHeader;
    }

    public int getIpv6PrefixLength() {
        return ipv6PrefixLength;
    }

    public void setIpv6PrefixLength(int ipv6PrefixLength) {
        this.ipv6PrefixLength = ipv6PrefixLength;
    }

    public String getApiKeyHeader() {
        return apiKeyHeader;
    }

    public void setApiKeyHeader(String apiKeyHeader) {
        this.apiKeyHeader = apiKeyHeader;
    }

    public UnknownApiKey getUnknownApiKey() {
        return unknownApiKey;
    }

    public void setUnknownApiKey(UnknownApiKey unknownApiKey) {
        this.unknownApiKey = unknownApiKey;
    }

    public int getFilterOrder() {
        return filterOrder;
    }

    public void setFilterOrder(int filterOrder) {
        this.filterOrder = filterOrder;
    }

    public int getEarlyFilterOrder() {
        return earlyFilterOrder;
    }

    public void setEarlyFilterOrder(int earlyFilterOrder) {
        this.earlyFilterOrder = earlyFilterOrder;
    }

    public String getProblemType() {
        return problemType;
    }

    public void setProblemType(String problemType) {
        this.problemType = problemType;
    }

    public boolean isShadow() {
        return shadow;
    }

    public void setShadow(boolean shadow) {
        this.shadow = shadow;
    }

    public Store getStore() {
        return store;
    }

    public void setStore(Store store) {
        this.store = store;
    }

    public Memory getMemory() {
        return memory;
    }

    public Map<String, Tier> getTiers() {
        return tiers;
    }

    public void setTiers(Map<String, Tier> tiers) {
        this.tiers = tiers;
    }

    public Map<String, String> getApiKeys() {
        return apiKeys;
    }

    public void setApiKeys(Map<String, String> apiKeys) {
        this.apiKeys = apiKeys;
    }

    public Map<String, String> getApiKeyDigests() {
        return apiKeyDigests;
    }

    public void setApiKeyDigests(Map<String, String> apiKeyDigests) {
        this.apiKeyDigests = apiKeyDigests;
    }

    public List<Rule> getRules() {
        return rules;
    }

    public void setRules(List<Rule> rules) {
        this.rules = rules;
    }

    public List<String> getExcludePaths() {
        return excludePaths;
    }

    public void setExcludePaths(List<String> excludePaths) {
        this.excludePaths = excludePaths;
    }

    /** Which rate-limit headers a response carries. */
    public enum HeaderFormat {
        /** {@code RateLimit-Policy} and {@code RateLimit} (draft-ietf-httpapi-ratelimit-headers-11). */
        IETF,
        /** {@code X-RateLimit-Limit}, {@code X-RateLimit-Remaining} and {@code X-RateLimit-Reset}. */
        LEGACY,
        /** Both sets. */
        BOTH,
        /** None; a denial still carries {@code Retry-After}. */
        NONE;

        /** Whether the IETF headers are written. */
        public boolean ietf() {
            return this == IETF || this == BOTH;
        }

        /** Whether the legacy headers are written. */
        public boolean legacy() {
            return this == LEGACY || this == BOTH;
        }
    }

    /**
     * The forwarding header that trusted proxies write. Only that one is read: a proxy passes on the
     * header it does not write as the client sent it, so reading both would let a client choose its
     * own address.
     */
    public enum ForwardedHeader {
        /** {@code X-Forwarded-For}, which most proxies append to (nginx's {@code $proxy_add_x_forwarded_for}). */
        X_FORWARDED_FOR,
        /** The {@code for=} parameters of {@code Forwarded} (RFC 7239). */
        FORWARDED
    }

    /** What happens to a request whose API key maps to no tier. */
    public enum UnknownApiKey {
        /** Treat it as anonymous: default tier, limited by client IP. */
        IP,
        /**
         * Answer 401 to a request that a rule matches, once the rules have counted it as a request
         * without a key (by client IP, so guessing keys meets a 429 too); not when every matching rule is in
         * shadow mode.
         */
        REJECT
    }

    /** Where limiters keep their state. */
    public enum Store {
        /** In this node's memory: each node enforces the limits on its own. */
        MEMORY,
        /** In Redis, through Spring Data Redis's Lettuce client: every node shares the same limits. */
        REDIS
    }

    /** In-memory store settings. */
    public static class Memory {

        /** Most client keys each rule and tier tracks; past it the least useful keys are dropped. */
        private long maxKeys = 1_000_000;

        public long getMaxKeys() {
            return maxKeys;
        }

        public void setMaxKeys(long maxKeys) {
            this.maxKeys = maxKeys;
        }
    }

    /** A tier: limits that all apply to each of its clients. */
    public static class Tier {

        /** Limits a request must all satisfy. */
        private List<TierLimit> limits = new ArrayList<>();

        public List<TierLimit> getLimits() {
            return limits;
        }

        public void setLimits(List<TierLimit> limits) {
            this.limits = limits;
        }
    }

    /** One limit: {@code limit} permits per {@code period}, with bursts up to {@code capacity}. */
    public static class TierLimit {

        /** Permits granted per period. */
        private long limit;

        /** Length of the period, such as 1s, 1m or 1h; a bare number is seconds. */
        @DurationUnit(ChronoUnit.SECONDS)
        private Duration period;

        /** Largest burst; the limit when unset. */
        private Long capacity;

        public long getLimit() {
            return limit;
        }

        public void setLimit(long limit) {
            this.limit = limit;
        }

        public Duration getPeriod() {
            return period;
        }

        public void setPeriod(Duration period) {
            this.period = period;
        }

        public Long getCapacity() {
            return capacity;
        }

        public void setCapacity(Long capacity) {
            this.capacity = capacity;
        }
    }

    /** A rule: which requests it covers, how clients are told apart, and what each request costs. */
    public static class Rule {

        /** Name of the rule, unique; used for its limiters and in problem responses. */
        private String name;

        /** Path patterns the rule covers, such as /api/**; empty covers every path. */
        private List<String> paths = new ArrayList<>();

        /**
         * HTTP methods the rule covers; empty covers every method but CORS preflights, which only a
         * rule naming OPTIONS counts.
         */
        private List<String> methods = new ArrayList<>();

        /** Client key: ip, api-key, principal, header:Name or a SpEL expression; unset uses the ClientKeyResolver bean. */
        private String key;

        /** Permits each request takes. */
        private long cost = 1;

        /** Algorithm of this rule; the global algorithm when unset. */
        private Algorithm algorithm;

        /** Tier whose limits apply to every client of this rule; the client's own tier when unset. */
        private String tier;

        /** Whether this rule only reports would-be denials; ratelimit.shadow when unset. */
        private Boolean shadow;

        /**
         * Whether this rule runs in the early filter (ratelimit.early-filter-order), before Spring
         * Security's chain by default, so that it counts requests before credentials are checked.
         */
        private boolean early;

        public String getName() {
            return name;
        }

        public void setName(String name) {
            this.name = name;
        }

        public List<String> getPaths() {
            return paths;
        }

        public void setPaths(List<String> paths) {
            this.paths = paths;
        }

        public List<String> getMethods() {
            return methods;
        }

        public void setMethods(List<String> methods) {
            this.methods = methods;
        }

        public String getKey() {
            return key;
        }

        public void setKey(String key) {
            this.key = key;
        }

        public long getCost() {
            return cost;
        }

        public void setCost(long cost) {
            this.cost = cost;
        }

        public Algorithm getAlgorithm() {
            return algorithm;
        }

        public void setAlgorithm(Algorithm algorithm) {
            this.algorithm = algorithm;
        }

        public String getTier() {
            return tier;
        }

        public void setTier(String tier) {
            this.tier = tier;
        }

        public Boolean getShadow() {
            return shadow;
        }

        public void setShadow(Boolean shadow) {
            this.shadow = shadow;
        }

        public boolean isEarly() {
            return early;
        }

        public void setEarly(boolean early) {
            this.early = early;
        }
    }

    /** Whether any rule runs in the early filter. */
    public boolean hasEarlyRules() {
        return rules.stream().anyMatch(Rule::isEarly);
    }
}
