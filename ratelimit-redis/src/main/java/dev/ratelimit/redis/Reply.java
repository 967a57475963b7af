package dev.ratelimit.redis;

import dev.ratelimit.core.Decision;
import java.util.List;

/** A script's answer, in the microseconds of Redis time; see head.lua for the fields. */
record Reply(boolean allowed, long remaining, long limit, long retryMicros, long resetMicros, long stableMicros,
             long waitMicros) {

    static Reply of(List<Long> values) {
        return new Reply(values.get(0) == 1, values.get(1), values.get(2), values.get(3), values.get(4), values.get(5),
                values.get(6));
    }

    Decision decision() {
        return new Decision(allowed, remaining, limit, 1000 * retryMicros, 1000 * resetMicros);
    }
}
