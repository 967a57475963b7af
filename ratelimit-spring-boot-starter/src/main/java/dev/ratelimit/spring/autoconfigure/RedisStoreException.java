package dev.ratelimit.spring.autoconfigure;

/**
 * Stops the application when {@code ratelimit.store=redis} cannot work: a dependency is missing,
 * Spring Data Redis is not using Lettuce, or Redis is unreachable in closed mode. Free of Redis
 * types, so that it can be thrown and analysed while they are absent.
 */
final class RedisStoreException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String action;

    RedisStoreException(String message, String action, Throwable cause) {
        super(message, cause);
        this.action = action;
    }

    /** What to do about it. */
    String action() {
        return action;
    }
}
