package dev.ratelimit.spring.web;

import dev.ratelimit.spring.RateLimitExceededException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.springframework.core.Ordered;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.ModelAndView;

/**
 * Turns a {@link RateLimitExceededException} from a handler into the same 429 problem response, with
 * the same headers, that the filter sends. Ordered ahead of {@code @ExceptionHandler} methods, so a
 * catch-all handler does not turn a denial into a 500.
 */
public final class RateLimitExceptionResolver implements HandlerExceptionResolver, Ordered {

    private final RateLimitResponses responses;

    /** Creates a resolver that writes with {@code responses}. */
    public RateLimitExceptionResolver(RateLimitResponses responses) {
        this.responses = responses;
    }

    @Override
    public ModelAndView resolveException(HttpServletRequest request, HttpServletResponse response, Object handler,
            Exception ex) {
        if (!(ex instanceof RateLimitExceededException denied) || response.isCommitted()) {
            return null;
        }
        try {
            responses.writeTooManyRequests(request, response, denied.getResult());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new ModelAndView();
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE + 1;
    }
}
