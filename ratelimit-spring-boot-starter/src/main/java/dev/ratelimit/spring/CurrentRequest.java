package dev.ratelimit.spring;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.security.Principal;
import java.util.function.BiConsumer;
import org.springframework.util.ClassUtils;
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

/**
 * The servlet request a {@code @RateLimited} call happens in. Only touched when {@link #available}
 * says so, so that applications without Spring MVC never load the servlet classes.
 */
final class CurrentRequest {

    /** Whether servlet requests can exist for an application loading classes with {@code classLoader}. */
    static boolean available(ClassLoader classLoader) {
        return ClassUtils.isPresent("jakarta.servlet.http.HttpServletRequest", classLoader)
                && ClassUtils.isPresent("org.springframework.web.context.request.RequestContextHolder", classLoader);
    }

    private CurrentRequest() {
    }

    static HttpServletRequest get() {
        RequestAttributes attributes = RequestContextHolder.getRequestAttributes();
        return attributes instanceof ServletRequestAttributes servlet ? servlet.getRequest() : null;
    }

    /**
     * {@code request} as a filter sees it before Spring Security's chain has run: with no user, so
     * that a principal falls back as it does there.
     */
    static HttpServletRequest withoutUser(HttpServletRequest request) {
        return new HttpServletRequestWrapper(request) {
            @Override
            public Principal getUserPrincipal() {
                return null;
            }

            @Override
            public String getRemoteUser() {
                return null;
            }

            @Override
            public boolean isUserInRole(String role) {
                return false;
            }

            @Override
            public String getAuthType() {
                return null;
            }
        };
    }

    /** Adds {@code result} to the request's, and rewrites the headers if the response is still open. */
    static RateLimitResult accumulate(HttpServletRequest request, RateLimitResult result,
            BiConsumer<HttpServletResponse, RateLimitResult> headers) {
        RateLimitResult all = result.after(request.getAttribute(RateLimitResult.REQUEST_ATTRIBUTE));
        request.setAttribute(RateLimitResult.REQUEST_ATTRIBUTE, all);
        RequestAttributes attributes = RequestContextHolder.getRequestAttributes();
        HttpServletResponse response = attributes instanceof ServletRequestAttributes servlet ? servlet.getResponse() : null;
        if (response != null && !response.isCommitted() && all.allowed()) {
            headers.accept(response, all);
        }
        return all;
    }
}
