package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
        String java = ProcessHandle.current().info().command().orElse("java");
        Process probe = new ProcessBuilder(List.of(java, "-Xms64m", "-Xmx64m", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), SlidingWindowLogOutOfMemoryProbe.class.getName()))
                .redirectErrorStream(true).start();
        boolean exited = probe.waitFor(120, TimeUnit.SECONDS);
        if (!exited) {
            probe.destroyForcibly();
        }
        String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(exited).as("the probe finished within 120 s; output: " + output).isTrue();
        assertThat(probe.exitValue()).as("the probe's exit code; output: " + output).isZero();
        assertThat(output).contains("ok: admitted ");
    }
}
