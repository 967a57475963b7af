package dev.ratelimit.benchmarks;

/** Whether a benchmark measures the admitting or the denying path; public for JMH's generated code. */
public enum Outcome {
    ADMITTED, DENIED
}
