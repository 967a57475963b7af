package dev.ratelimit.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a class's {@code main} in a JVM of its own, for tests of what the test JVM cannot safely
 * do itself: fill its heap, start with another default charset, use another name service. Shipped
 * in core's test-jar, so every module's tests launch their probes the same way. The output goes to
 * a file rather than a pipe, so a chatty probe never blocks on a full pipe while nobody reads it.
 */
public final class ChildJvm {

    /**
     * What the probe left: whether it ended within the time allowed (else it was killed), its exit
     * code (-1 when it did not end), and its standard output and error together.
     */
    public record Result(boolean ended, int exitCode, String output) {
    }

    private ChildJvm() {
    }

    /** Runs {@code main} with this JVM's class path; see {@link #run(Duration, List, String, Class, String...)}. */
    public static Result run(Duration timeout, List<String> options, Class<?> main, String... args)
            throws IOException, InterruptedException {
        return run(timeout, options, System.getProperty("java.class.path"), main, args);
    }

    /**
     * Runs {@code main} with {@code args} under this JVM's {@code java}, with the JVM
     * {@code options} and {@code classPath}, waiting up to {@code timeout}.
     */
    public static Result run(Duration timeout, List<String> options, String classPath, Class<?> main, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of("-cp", classPath, main.getName()));
        command.addAll(List.of(args));
        Path output = Files.createTempFile("ratelimit-probe", ".out");
        try {
            Process probe = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            boolean ended = probe.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!ended) {
                probe.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            return new Result(ended, ended ? probe.exitValue() : -1, Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
