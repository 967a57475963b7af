package dev.ratelimit.core;

/** Runs the store contract against the in-memory limiter. */
class MemoryRateLimiterContractTest extends RateLimiterContract {

    @Override
    protected RateLimiter create(Policy policy, Ticker ticker, Sleeper sleeper) {
        return RateLimiter.builder()
                .algorithm(policy.algorithm())
                .limits(policy.limits())
                .ticker(ticker)
                .sleeper(sleeper)
                .build();
    }
}
