#!/usr/bin/env bash
# Section 5 of the benchmarks: ours (RedisRateLimiter) against Bucket4j's Lettuce proxy manager, 64 callers,
# on a private redis-server that this script starts on a loopback port and stops afterwards, so that no other
# client adds to INFO commandstats and the machine's shared Redis is never touched.
#
#   ratelimit-benchmarks/run-redis.sh [--quick]
#
# Defaults: 3 rounds × 14 scenarios × (2 s warm-up + 5 s measured), about 6 minutes.
# --quick: 1 round of 1 s + 1 s, about 40 s, for checking the script, not for publishing.
# Environment: REDIS_PORT (default 6479), SECONDS_PER_SCENARIO, WARM_UP_SECONDS, ROUNDS, OUT, ADMITTED_KEYS and
# FLOOD_KEYS (see RedisComparison), JAR (a saved benchmarks.jar, with SKIP_BUILD=1 to compare builds).
# Writes docs/bench-data/redis.json (one object per scenario) and exits non-zero if a scenario's premise
# failed (a denial on the admitted path, an admission in the flood, a failed or fallback call).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT=${REDIS_PORT:-6479}
SECONDS_PER_SCENARIO=${SECONDS_PER_SCENARIO:-5}
WARM_UP_SECONDS=${WARM_UP_SECONDS:-2}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-docs/bench-data/redis.json}
if [[ "${1:-}" == "--quick" ]]; then
    SECONDS_PER_SCENARIO=1 WARM_UP_SECONDS=1 ROUNDS=1 OUT=${OUT/%.json/-quick.json}
fi
JAR=${JAR:-ratelimit-benchmarks/target/benchmarks.jar}

if [[ -z "${SKIP_BUILD:-}" ]]; then
    # The shade plugin replaces benchmarks.jar with the shaded jar, and a later package that finds the
    # module's own classes unchanged shades that old jar again, whose classes win over the new
    # ratelimit-redis: without this, the run measures the previous build's limiter.
    rm -f ratelimit-benchmarks/target/benchmarks.jar ratelimit-benchmarks/target/original-benchmarks.jar
    ./mvnw -B -q -pl ratelimit-benchmarks -am package -DskipTests
fi

if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
    echo "something already answers on 127.0.0.1:$PORT; set REDIS_PORT to a free port" >&2
    exit 2
fi
DIR=$(mktemp -d /tmp/ratelimit-bench-redis.XXXXXX)
# No persistence, loopback only, and no connection cap below the 64 callers.
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" \
    --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --daemonize yes
stop() {
    if [[ -f "$DIR/redis.pid" ]]; then
        local pid
        pid=$(cat "$DIR/redis.pid")
        kill "$pid" 2>/dev/null || true
        # Until it has exited: it still writes its log, and a next run would find the port taken.
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -rf "$DIR"
}
trap stop EXIT
for _ in $(seq 50); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done
echo "redis: $(redis-server --version | cut -d' ' -f3) on 127.0.0.1:$PORT"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# -XX:+AlwaysPreTouch: without it, zeroing heap pages on their first use was 13 % of the client's CPU in a
# perf profile of the first scenarios (clear_page_erms), a start-up cost that fell on whichever ran first.
# Bounded: every scenario stops after its time, every caller after 400,000 calls; the timeout is a backstop.
timeout $(( (ROUNDS * 14 + 2) * (SECONDS_PER_SCENARIO + WARM_UP_SECONDS + 30) + 60 )) \
    java -Xms2g -Xmx2g -XX:+AlwaysPreTouch -cp "$JAR" dev.ratelimit.benchmarks.RedisComparison \
    "redis://127.0.0.1:$PORT" "$OUT" "$SECONDS_PER_SCENARIO" "$WARM_UP_SECONDS" "$ROUNDS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote $OUT"
