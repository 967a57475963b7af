package dev.ratelimit.redis;

/**
 * What a {@link RedisRateLimiter} decides while Redis cannot answer: a command timed out or
 * failed, or the circuit breaker is open after such a failure.
 */
public enum FailureMode {

    /**
     * Admit the request, count it ({@link RedisRateLimiter#fallbackDecisions()}) and log the
     * outage at most every ten seconds. Limits are not enforced until Redis is back. The default.
     */
    OPEN,

    /**
     * Refuse to decide: the call throws {@link RedisUnavailableException}, which a web layer answers
     * with 503 and the problem type {@link RedisUnavailableException#PROBLEM_TYPE}, not with 429,
     * because the client did nothing wrong.
     */
    CLOSED,

    /**
     * Decide with a per-node in-memory limiter of the same policy. Each node then enforces the
     * limits on its own, so a fleet of {@code N} nodes may admit up to {@code N} times the limit;
     * the in-memory state starts empty and is not merged back when Redis returns.
     */
    LOCAL
}
