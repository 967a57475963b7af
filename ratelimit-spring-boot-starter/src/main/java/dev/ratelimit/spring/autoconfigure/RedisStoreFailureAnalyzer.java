package dev.ratelimit.spring.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Explains a {@link RedisStoreException} at start-up: what is wrong and what to do. */
final class RedisStoreFailureAnalyzer extends AbstractFailureAnalyzer<RedisStoreException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, RedisStoreException cause) {
        return new FailureAnalysis(cause.getMessage(), cause.action(), cause);
    }
}
