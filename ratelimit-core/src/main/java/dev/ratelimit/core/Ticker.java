package dev.ratelimit.core;

/**
 * A source of monotonic time in nanoseconds, read on every decision.
 *
 * <p>Only differences between readings matter, so the origin is arbitrary. Tests pass a manual
 * ticker (a lambda over a field they advance by hand) so that refills happen without sleeping.
 * A ticker that jumps backwards never creates permits; see the README for the exact tolerance.
 * Implementations must be thread-safe.
 */
@FunctionalInterface
public interface Ticker {

    /** Returns the current reading in nanoseconds. */
    long read();

    /** Returns a ticker over {@link System#nanoTime()}, which is monotonic within one JVM. */
    static Ticker system() {
        return SystemTicker.INSTANCE;
    }
}

enum SystemTicker implements Ticker {
    INSTANCE;

    @Override
    public long read() {
        return System.nanoTime();
    }
}
