package dev.ratelimit.redis;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.ratelimit.core.Algorithm;
import dev.ratelimit.core.Decision;
import dev.ratelimit.core.Ticker;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Denies single-permit requests locally while an earlier Redis denial still holds, saving the
 * round trip under a flood.
 *
 * <p>When Redis denies one permit, its script also reports {@code stable}: how long, if nothing
 * else happens, the request stays denied and the figures stay exact (until the binding limit
 * holds a permit; never past {@code retryAfter}). Within that time this cache answers with the
 * same decision, its times shortened by the time elapsed, which is what Redis would answer if no
 * other node touched the key. It only ever denies, so it cannot over-admit; other nodes can only
 * consume more, which makes the true retry later, never earlier. Elapsed time is measured on the
 * local ticker from a reading taken before the Redis call, so an entry ends no later than Redis's
 * own retry time. Not used for requests of several permits, nor for the leaky bucket, whose
 * figures change with every microsecond. The sliding window counter qualifies because a denial
 * changes nothing that matters: its windows only roll forward, which is a function of time alone
 * (a denied key always holds a count, so it never re-anchors), and the times it reports (the
 * binding limit's admitting instant, the end of the windows) are fixed instants.
 *
 * <p>A reset must not be undone by a denial whose reply was on its way: Redis decided it on the
 * state the reset deletes. So a denial is cached with the {@link #generation()} read before its
 * call was sent, and {@link #invalidate} advances the generation before it removes the entry.
 * {@link #put} puts, then reads the generation again and removes what it put if it moved: either
 * that read sees the reset's advance, or the reset's removal comes after the put (both are
 * volatile accesses). A reset advances it on every key, which at worst costs a denial in flight
 * elsewhere its caching: a round trip, never a wrong answer.
 */
final class DenyCache {

    private record Denial(long fromMicros, long untilMicros, long limit, long retryMicros, long resetMicros) {
    }

    private final Cache<String, Denial> denials;

    static boolean supports(Algorithm algorithm) {
        return algorithm != Algorithm.LEAKY_BUCKET;
    }

    private final LongAdder saved = new LongAdder();
    private final AtomicLong generation = new AtomicLong();

    DenyCache(Ticker ticker, long maxKeys) {
        this.denials = Caffeine.newBuilder()
                .maximumSize(maxKeys)
                .ticker(ticker::read)
                // writing, not creating: a denial put over an entry still held (its time ended, but
                // it was written after the reading it counts from) must keep its own time, not the
                // replaced entry's, which would drop it at once and cost the round trips it saves
                .expireAfter(Expiry.<String, Denial>writing(
                        (key, denial) -> java.time.Duration.ofNanos(1000 * (denial.untilMicros() - denial.fromMicros()))))
                .build();
    }

    /** The cached denial of one permit at {@code nowMicros}, or null to ask Redis. */
    Decision get(String key, long nowMicros) {
        Denial denial = denials.getIfPresent(key);
        if (denial == null) {
            return null;
        }
        long elapsed = nowMicros - denial.fromMicros();
        if (elapsed < 0 || nowMicros >= denial.untilMicros()) {
            return null;
        }
        saved.increment();
        return new Decision(false, 0, denial.limit(), 1000 * (denial.retryMicros() - elapsed),
                1000 * Math.max(0, denial.resetMicros() - elapsed));
    }

    /** The count of resets so far; read it before sending the call whose denial {@link #put} may cache. */
    long generation() {
        return generation.get();
    }

    /** Caches {@code reply}'s denial unless a reset ran since {@code generation} was read. */
    void put(String key, long nowMicros, Reply reply, long generation) {
        denials.put(key, new Denial(nowMicros, nowMicros + reply.stableMicros(), reply.limit(), reply.retryMicros(),
                reply.resetMicros()));
        if (this.generation.get() != generation) {
            denials.invalidate(key);
        }
    }

    /** Forgets the key's denial, and any that a call sent before now would cache. */
    void invalidate(String key) {
        generation.incrementAndGet();
        denials.invalidate(key);
    }

    long saved() {
        return saved.sum();
    }
}
