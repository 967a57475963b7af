package dev.ratelimit.spring.web;

import dev.ratelimit.redis.RedisUnavailableException;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.springframework.core.Ordered;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.ModelAndView;

/**
 * Answers 503 with the problem type {@link RedisUnavailableException#PROBLEM_TYPE} when the Redis
 * store, in closed mode, cannot decide: as a filter around {@link RateLimitFilter}, and as an
 * exception resolver for {@code @RateLimited} handler methods, ordered like
 * {@link RateLimitExceptionResolver} so that no {@code @ExceptionHandler} turns it into a 500.
 * Registered only with {@code ratelimit.store=redis}.
 */
public final class RedisUnavailableHandler extends OncePerRequestFilter implements HandlerExceptionResolver, Ordered {

    private final RateLimitResponses responses;
    private final long retryAfterSeconds;

    /**
     * Creates the handler.
     *
     * @param retryAfterSeconds the {@code Retry-After} of the 503: how long Redis is left alone after a failure
     */
    public RedisUnavailableHandler(RateLimitResponses responses, long retryAfterSeconds) {
        this.responses = responses;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        try {
            chain.doFilter(request, response);
        } catch (RedisUnavailableException e) {
            if (response.isCommitted()) {
                throw e;
            }
            write(request, response);
        }
    }

    @Override
    public ModelAndView resolveException(HttpServletRequest request, HttpServletResponse response, Object handler,
            Exception ex) {
        if (!(ex instanceof RedisUnavailableException) || response.isCommitted()) {
            return null;
        }
        try {
            write(request, response);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ModelAndView();
    }

    private void write(HttpServletRequest request, HttpServletResponse response) throws IOException {
        responses.writeUnavailable(request, response, RedisUnavailableException.PROBLEM_TYPE.toString(), retryAfterSeconds);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE + 1;
    }
}
