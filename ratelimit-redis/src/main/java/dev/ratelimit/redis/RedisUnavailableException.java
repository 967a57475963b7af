package dev.ratelimit.redis;

import java.net.URI;

/**
 * Thrown by a {@link RedisRateLimiter} in {@link FailureMode#CLOSED} when Redis cannot decide: a
 * command failed or timed out, or the circuit breaker is open. The request was neither admitted
 * nor counted. Also thrown by {@link RedisRateLimiter.Builder#build()} when it cannot connect.
 */
public final class RedisUnavailableException extends RuntimeException {

    /** The RFC 9457 problem type for a 503 answer while limits cannot be checked. */
    public static final URI PROBLEM_TYPE =
            URI.create("https://iana.org/assignments/http-problem-types#temporary-reduced-capacity");

    private static final long serialVersionUID = 1L;

    RedisUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
