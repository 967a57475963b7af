package dev.ratelimit.core;

import java.math.BigInteger;

/**
 * Integer arithmetic that neither overflows nor rounds silently. Products of a capacity (up to
 * 10^12) and a period in nanoseconds (up to 3.2 * 10^16) need up to 95 bits, so the helpers check
 * the 128-bit product with {@link Math#multiplyHigh} and fall back to {@link BigInteger} only then.
 */
final class Exact {

    private Exact() {
    }

    /** {@code ceil(a / b)} for {@code a >= 0} and {@code b > 0}. */
    static long ceilDiv(long a, long b) {
        long q = a / b;
        long r = a - q * b; // a % b, without a second division
        return q + ((r | -r) >>> 63); // one more when inexact, without a branch (r >= 0 here)
    }

    /** {@code a * b} for non-negative operands, saturating at {@link Long#MAX_VALUE}. */
    static long mulSat(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return hi == 0 && lo >= 0 ? lo : Long.MAX_VALUE;
    }

    /** {@code a + b} for non-negative operands, saturating at {@link Long#MAX_VALUE}. */
    static long addSat(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }

    /** {@code floor(a * b / c)} for non-negative {@code a}, {@code b} and positive {@code c}, saturating. */
    static long mulDivFloor(long a, long b, long c) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        if (fits(hi, lo)) {
            return lo / c;
        }
        return saturate(BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).divide(BigInteger.valueOf(c)));
    }

    /** {@code ceil(a * b / c)} for non-negative {@code a}, {@code b} and positive {@code c}, saturating. */
    static long mulDivCeil(long a, long b, long c) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        if (fits(hi, lo)) {
            return ceilDiv(lo, c);
        }
        BigInteger[] qr = BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)).divideAndRemainder(BigInteger.valueOf(c));
        return saturate(qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE));
    }

    /**
     * Whether the non-negative 128-bit product {@code hi:lo} fits in a {@code long}: {@code hi}
     * zero and {@code lo}'s sign bit clear, tested as one comparison ({@code hi < 2^62} for
     * operands under 2^63, so the shift loses nothing), so that the hot paths that inline this
     * carry one branch instead of two.
     */
    private static boolean fits(long hi, long lo) {
        return ((hi << 1) | (lo >>> 63)) == 0;
    }

    static long saturate(BigInteger value) {
        return value.bitLength() < 64 ? value.longValue() : (value.signum() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE);
    }

    /** The longest expiry Caffeine honours exactly; longer ones are capped there anyway. */
    static long capExpiry(long nanos) {
        return Math.min(nanos, Long.MAX_VALUE >> 1);
    }
}
