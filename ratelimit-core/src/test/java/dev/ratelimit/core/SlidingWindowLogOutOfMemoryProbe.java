package dev.ratelimit.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Run by {@link SlidingWindowLogOutOfMemoryTest} in a JVM of its own with a small heap: makes the
 * one allocation a single limit's sliding log makes under its lock, the ring's doubling, fail, and
 * prints what the log looks like after. Exits 0 when every check held, 1 naming the first that did
 * not, 3 when the heap was not filled enough for the growth to fail (a set-up error, not a pass).
 */
final class SlidingWindowLogOutOfMemoryProbe {

    private static final long CAPACITY = Policy.MAX_LOG_CAPACITY;
    /** Ring size (pairs) at which the probe stops admitting: its doubling needs an 8 MiB array. */
    private static final int SLOTS = 1 << 18;

    private SlidingWindowLogOutOfMemoryProbe() {
    }

    public static void main(String[] args) {
        SlidingWindowLog strategy = new SlidingWindowLog(new Policy(Algorithm.SLIDING_WINDOW_LOG,
                List.of(Limit.of(CAPACITY, Duration.ofHours(1)))));
        long now = 0;
        SlidingWindowLog.Log log = (SlidingWindowLog.Log) strategy.newState(now);
        long admitted = 0;
        // One nanosecond apart, so that no two admissions share an entry; bounded by the capacity.
        while ((log.slots() < SLOTS || !log.full()) && admitted < CAPACITY) {
            check(strategy.tryAcquire(log, ++now, 1).allowed(), "an admission below the capacity");
            admitted++;
        }
        check(log.slots() == SLOTS && log.full(), "the ring full at " + SLOTS + " pairs, not " + log.slots());

        List<byte[]> ballast = new ArrayList<>();
        try {
            for (int i = 0; i < 100_000; i++) { // bounded: far more than any heap this probe is given
                ballast.add(new byte[1 << 20]);
            }
        } catch (OutOfMemoryError full) {
            ballast.remove(ballast.size() - 1); // 1 MiB free: room for a Decision, not for the ring
        }
        Throwable failure = null;
        try {
            strategy.tryAcquire(log, ++now, 1);
        } catch (OutOfMemoryError e) {
            failure = e;
        }
        int slotsAfterFailure = log.slots();
        long usedAfterFailure = log.used;
        int lock = log.lock(); // gives up, returning 0, if the failed growth left the lock held
        if (lock != 0) {
            log.unlock(lock);
        }
        ballast.clear();
        if (failure == null) {
            System.out.println("the growth did not fail: the heap was not filled");
            System.exit(3);
        }
        check(lock != 0, "the lock released after the failed growth");
        check(slotsAfterFailure == SLOTS, "the ring as it was, " + SLOTS + " pairs, not " + slotsAfterFailure);
        check(usedAfterFailure == admitted, "nothing counted for the failed request: used " + usedAfterFailure
                + ", admitted " + admitted);

        Decision next = strategy.tryAcquire(log, ++now, 1);
        check(next.allowed() && next.remaining() == CAPACITY - admitted - 1,
                "the next request admitted and counted once, remaining " + next.remaining());
        check(log.slots() == 2 * SLOTS, "the ring grown once memory is back, " + log.slots() + " pairs");
        System.out.println("ok: admitted " + admitted + ", failed growth left lock free and ring unchanged");
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            System.out.println("failed: " + what);
            System.exit(1);
        }
    }
}
