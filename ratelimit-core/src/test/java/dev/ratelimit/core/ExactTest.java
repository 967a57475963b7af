package dev.ratelimit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The branch-free helpers against BigInteger, on edge cases and seeded random operands. */
class ExactTest {

    private static final long SEED = 20261130L;

    private static final long[] EDGES = {0, 1, 2, 3, (1L << 31) - 1, 1L << 31, (1L << 62) - 1, 1L << 62,
            Long.MAX_VALUE - 1, Long.MAX_VALUE};

    @Test
    void ceilDivRoundsUpExactly() {
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < 200_000; i++) {
            long a = i < EDGES.length * EDGES.length ? EDGES[i / EDGES.length] : operand(random);
            long b = i < EDGES.length * EDGES.length ? Math.max(1, EDGES[i % EDGES.length]) : Math.max(1, operand(random));
            long expected = BigInteger.valueOf(a).add(BigInteger.valueOf(b - 1)).divide(BigInteger.valueOf(b)).longValueExact();
            assertThat(Exact.ceilDiv(a, b)).as("seed %d: ceilDiv(%d, %d)", SEED, a, b).isEqualTo(expected);
        }
    }

    @Test
    void mulDivFloorAndCeilAreExactAndSaturate() {
        SplittableRandom random = new SplittableRandom(SEED);
        for (int i = 0; i < 200_000; i++) {
            long a = operand(random);
            long b = operand(random);
            long c = Math.max(1, operand(random));
            BigInteger product = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b));
            BigInteger floor = product.divide(BigInteger.valueOf(c));
            BigInteger ceil = new java.math.BigDecimal(product).divide(new java.math.BigDecimal(c), 0, RoundingMode.CEILING)
                    .toBigIntegerExact();
            String where = "seed " + SEED + ": " + a + " * " + b + " / " + c;
            assertThat(Exact.mulDivFloor(a, b, c)).as(where).isEqualTo(Exact.saturate(floor));
            assertThat(Exact.mulDivCeil(a, b, c)).as(where).isEqualTo(Exact.saturate(ceil));
        }
    }

    /** Mostly small, sometimes near a power of two or the top of the range, where carries happen. */
    private static long operand(SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> random.nextLong(1_000);
            case 1 -> EDGES[random.nextInt(EDGES.length)];
            case 2 -> (1L << random.nextInt(63)) + random.nextLong(-3, 4) & Long.MAX_VALUE;
            default -> random.nextLong(Long.MAX_VALUE);
        };
    }
}
