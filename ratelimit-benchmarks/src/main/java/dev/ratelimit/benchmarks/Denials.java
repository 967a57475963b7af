package dev.ratelimit.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Counts the denied calls of each iteration, reported by JMH as the secondary result
 * {@code denied}: zero proves that an "admitted" benchmark never measured a denial. The counter
 * is per thread and is written only on a denial, so the admitting path pays one predictable branch.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.EVENTS)
public class Denials {

    /** Denied calls in this iteration, summed over threads by JMH. */
    public long denied;

    @Setup(Level.Iteration)
    public void clear() {
        denied = 0;
    }

    /** Returns {@code allowed}, counting it when false. */
    boolean count(boolean allowed) {
        if (!allowed) {
            denied++;
        }
        return allowed;
    }
}
