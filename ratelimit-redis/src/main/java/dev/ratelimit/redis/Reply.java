package dev.ratelimit.redis;

import dev.ratelimit.core.Decision;

/** A script's answer, in the microseconds of Redis time; see head.lua for the fields. */
record Reply(boolean allowed, long remaining, long limit, long retryMicros, long resetMicros, long stableMicros,
             long waitMicros) {

    static Reply of(long[] values) {
        return new Reply(values[0] == 1, values[1], values[2], values[3], values[4], values[5], values[6]);
    }

    Decision decision() {
        return new Decision(allowed, remaining, limit, 1000 * retryMicros, 1000 * resetMicros);
    }
}
