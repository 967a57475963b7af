package dev.ratelimit.core;

import java.time.Duration;

/**
 * A limiter that hands every call to another; a test overrides the calls it watches or breaks
 * (records the keys, refuses resets). Shared by the stores' and the starter's tests.
 */
public class ForwardingRateLimiter implements RateLimiter {

    private final RateLimiter delegate;

    public ForwardingRateLimiter(RateLimiter delegate) {
        this.delegate = delegate;
    }

    @Override
    public Decision tryAcquire(String key, long permits) {
        return delegate.tryAcquire(key, permits);
    }

    @Override
    public Decision peek(String key) {
        return delegate.peek(key);
    }

    @Override
    public Decision acquire(String key, long permits, Duration maxWait) throws InterruptedException {
        return delegate.acquire(key, permits, maxWait);
    }

    @Override
    public void reset(String key) {
        delegate.reset(key);
    }

    @Override
    public Policy policy() {
        return delegate.policy();
    }
}
