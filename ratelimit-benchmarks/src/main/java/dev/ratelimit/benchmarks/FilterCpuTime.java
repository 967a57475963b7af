package dev.ratelimit.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * {@link FilterCostBenchmark}'s calls timed by the calling thread's CPU time instead of the wall
 * clock. On a machine that other jobs keep busy, JMH's ns/op counts the time the thread waits to be
 * scheduled, and its error bars swamp differences of a few hundred nanoseconds; CPU time does not
 * include the waits. Prints, per case, the median of 15 rounds after 30 of warm-up, each of 200 000
 * calls, all in one JVM (so not a substitute for JMH's forks, only a steadier comparison of two builds).
 *
 * <pre>{@code
 * ./mvnw -q -pl ratelimit-benchmarks -am package -DskipTests
 * java -Xms1g -Xmx1g -cp ratelimit-benchmarks/target/benchmarks.jar dev.ratelimit.benchmarks.FilterCpuTime
 * }</pre>
 */
public final class FilterCpuTime {

    private static final int CALLS = 200_000;
    private static final int WARM_UP_ROUNDS = 30;
    private static final int ROUNDS = 15;

    private FilterCpuTime() {
    }

    public static void main(String[] args) throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        String[][] cases = {{"none", "/hello", "mock"}, {"ratelimit", "/hello", "mock"}, {"none", "/hello", "sink"},
            {"ratelimit", "/hello", "sink"}, {"ratelimit", "/other", "sink"}};
        FilterCostBenchmark benchmark = new FilterCostBenchmark();
        for (String[] c : cases) {
            FilterCostBenchmark.Call call = new FilterCostBenchmark.Call();
            call.filter = c[0];
            call.path = c[1];
            call.response = c[2];
            call.build();
            int kept = 0; // looks at each result; the calls change the mock request and response anyway
            for (int round = 0; round < WARM_UP_ROUNDS; round++) {
                for (int i = 0; i < CALLS; i++) {
                    kept += benchmark.doFilter(call) == null ? 1 : 0;
                }
            }
            double[] nanosPerCall = new double[ROUNDS];
            for (int round = 0; round < ROUNDS; round++) {
                long start = threads.getCurrentThreadCpuTime();
                for (int i = 0; i < CALLS; i++) {
                    kept += benchmark.doFilter(call) == null ? 1 : 0;
                }
                nanosPerCall[round] = (threads.getCurrentThreadCpuTime() - start) / (double) CALLS;
            }
            Arrays.sort(nanosPerCall);
            System.out.printf("filter=%-9s path=%-6s response=%-4s CPU ns/call: median %.0f (min %.0f, max %.0f)%s%n",
                    c[0], c[1], c[2], nanosPerCall[ROUNDS / 2], nanosPerCall[0], nanosPerCall[ROUNDS - 1],
                    kept < 0 ? "" : "");
        }
    }
}
