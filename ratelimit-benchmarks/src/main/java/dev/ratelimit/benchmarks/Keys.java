package dev.ratelimit.benchmarks;

import java.util.Arrays;
import java.util.Random;

/** Key strings and access patterns shared by the many-keys benchmark and the heap measurement. */
final class Keys {

    private Keys() {
    }

    /** {@code n} distinct 16-character keys, {@code key-000000000042}: 16 Latin-1 bytes each. */
    static String[] of(int n) {
        String[] keys = new String[n];
        for (int i = 0; i < n; i++) {
            keys[i] = String.format("key-%012d", i);
        }
        return keys;
    }

    /**
     * {@code length} indexes into {@code n} keys drawn from a Zipf distribution with exponent
     * {@code s} (rank {@code r} has weight {@code 1/r^s}), ranks shuffled over the indexes, all
     * from {@code seed}. Precomputed so that drawing costs nothing while measuring.
     */
    static int[] zipf(int n, double s, int length, long seed) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int rank = 1; rank <= n; rank++) {
            sum += 1 / Math.pow(rank, s);
            cdf[rank - 1] = sum;
        }
        Random random = new Random(seed);
        int[] keyOfRank = new int[n];
        for (int i = 0; i < n; i++) {
            keyOfRank[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = keyOfRank[i];
            keyOfRank[i] = keyOfRank[j];
            keyOfRank[j] = t;
        }
        int[] draws = new int[length];
        for (int i = 0; i < length; i++) {
            int rank = Arrays.binarySearch(cdf, random.nextDouble() * sum);
            draws[i] = keyOfRank[rank >= 0 ? rank : Math.min(-rank - 1, n - 1)];
        }
        return draws;
    }
}
