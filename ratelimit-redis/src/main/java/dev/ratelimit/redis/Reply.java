package dev.ratelimit.redis;

import dev.ratelimit.core.Decision;

/** A script's answer, in the microseconds of Redis time; see head.lua for the fields. */
record Reply(boolean allowed, long remaining, long limit, long retryMicros, long resetMicros, long stableMicros,
             long waitMicros) {

    /** The reply of one key, from {@code values[from]} on: a script's reply holds seven numbers per key. */
    static Reply of(long[] values, int from) {
        return new Reply(values[from] == 1, values[from + 1], values[from + 2], values[from + 3], values[from + 4],
                values[from + 5], values[from + 6]);
    }

    Decision decision() {
        return new Decision(allowed, remaining, limit, 1000 * retryMicros, 1000 * resetMicros);
    }
}
