package dev.ratelimit.core;

/**
 * Waits for a number of nanoseconds on behalf of {@link RateLimiter#acquire}.
 *
 * <p>The default parks the calling thread. Tests supply one that advances their manual
 * {@link Ticker} instead, so blocking acquisition can be tested without real waiting.
 */
@FunctionalInterface
public interface Sleeper {

    /**
     * Waits for about {@code nanos} nanoseconds.
     *
     * @throws InterruptedException if the thread is interrupted while waiting
     */
    void sleep(long nanos) throws InterruptedException;

    /** Returns a sleeper that parks the current thread and honours interruption. */
    static Sleeper system() {
        return nanos -> {
            if (nanos > 0) {
                java.util.concurrent.TimeUnit.NANOSECONDS.sleep(nanos);
            } else if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        };
    }
}
