package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A single limit's sliding log holds its lock without a finally (see
 * {@code SlidingWindowLog.decideLocked}), so the one allocation made under it, the ring's doubling,
 * must release the lock itself when it fails: else every later request for that key would wait
 * forever. Out of memory cannot be provoked safely in the test JVM, so {@link
 * SlidingWindowLogOutOfMemoryProbe} runs in a JVM of its own, with a 64 MiB heap it fills.
 */
class SlidingWindowLogOutOfMemoryTest {

    @Test
    void aGrowthThatRunsOutOfMemoryReleasesTheLockAndLeavesTheLogAsItWas() throws IOException, InterruptedException {
        ChildJvm.Result probe = ChildJvm.run(Duration.ofSeconds(120), List.of("-Xms64m", "-Xmx64m", "-XX:+UseSerialGC"),
                SlidingWindowLogOutOfMemoryProbe.class);
        String output = probe.output();
        assertThat(probe.ended()).as("the probe finished within 120 s; output: " + output).isTrue();
        assertThat(probe.exitCode()).as("the probe's exit code; output: " + output).isZero();
        assertThat(output).contains("ok: admitted ");
    }
}
