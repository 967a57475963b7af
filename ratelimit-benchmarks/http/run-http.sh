#!/usr/bin/env bash
# Section 4 of the benchmarks: wrk against GET /hello in three Spring Boot 4 applications, built from
# ratelimit-benchmarks/http/{plain,ours,bucket4j} with the Maven profile http-bench:
#   plain     no limiter
#   ours      ratelimit-spring-boot-starter, a YAML rule on /hello keyed by ip
#   bucket4j  bucket4j-spring-boot-starter 0.14.0-RC1 on JCache (Caffeine), a filter on /hello keyed by getRemoteAddr()
# Two modes: "admitted" (10^9 per second: every call admitted) and "denied" (1 per hour: the first call
# takes it during the check below, every later call gets 429). Per mode, ROUNDS rounds; each round starts
# every application in turn (the order rotates each round), checks its responses with curl, warms it up
# with wrk, then measures with wrk. wrk's status.lua counts the status codes, and the run fails unless every
# measured response is the intended one (200 admitted, 429 denied, 200 for plain) with no socket errors.
#
#   ratelimit-benchmarks/http/run-http.sh [--quick]
#
# Defaults: 2 modes × 2 rounds × 3 apps × (start ≈ 5-10 s + 60 s warm-up + 10 s measured): about 16 minutes.
# The warm-up is long because the server's JIT compiler shares its one CPU with the requests: with
# -XX:+PrintCompilation, C2 was still compiling 30-40 s into the load (about 35,000 requests/s), and a
# 10 s warm-up measured whichever application happened to finish compiling first.
# --quick: 1 round, 3 s warm-up, 3 s measured (about 2 minutes): for checking the script, not for publishing.
# Environment: HTTP_PORT (18080), ROUNDS, WARM_UP, DURATION, THREADS (2), CONNECTIONS (32), PIN (1), OUT.
# PIN=1 runs wrk on CPU 0 and the server on CPU 1 (taskset), so that neither starves the other on a 2-core
# machine; the JVM then sizes itself for one CPU (serial GC). PIN=0 lets both float over every CPU.
# Writes docs/bench-data/http.json: one object per measured run.
set -euo pipefail

cd "$(dirname "$0")/../.."
PORT=${HTTP_PORT:-18080}
ROUNDS=${ROUNDS:-2}
WARM_UP=${WARM_UP:-60}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
PIN=${PIN:-1}
OUT=${OUT:-docs/bench-data/http.json}
if [[ "${1:-}" == "--quick" ]]; then
    ROUNDS=1 WARM_UP=3 DURATION=3 OUT=${OUT/%.json/-quick.json}
fi
HTTP=ratelimit-benchmarks/http
APPS=(plain ours bucket4j)
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
    # An app whose own module did not change is not repackaged, and keeps the starter it was first
    # built with: without this, a rebuild after a starter change measures the old starter.
    rm -f "$HTTP"/{plain,ours,bucket4j}/target/app.jar
    ./mvnw -B -q -P http-bench -pl "$HTTP/plain,$HTTP/ours,$HTTP/bucket4j" -am package -DskipTests
fi

if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "something already answers on 127.0.0.1:$PORT; set HTTP_PORT to a free port" >&2
    exit 2
fi
if [[ "$PIN" == 1 && $(nproc) -ge 2 ]]; then
    SERVER_CPU=(taskset -c 1) CLIENT_CPU=(taskset -c 0)
else
    SERVER_CPU=() CLIENT_CPU=()
fi
LOG=$(mktemp -d /tmp/ratelimit-bench-http.XXXXXX)
SERVER=
stop() {
    if [[ -n "$SERVER" ]]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
        SERVER=
    fi
}
trap 'stop; echo "server logs: $LOG"' EXIT

# mode app -> the application's arguments for the mode's limit
limit_args() {
    case "$1" in
        admitted) echo "--bench.limit=1000000000 --bench.period=1s --bench.time=1 --bench.unit=seconds" ;;
        denied) echo "--bench.limit=1 --bench.period=1h --bench.time=1 --bench.unit=hours" ;;
    esac
}

status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/hello"; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "[" > "$OUT"
first=1
failed=0
for mode in admitted denied; do
    for round in $(seq "$ROUNDS"); do
        for i in "${!APPS[@]}"; do
            app=${APPS[$(( (i + round - 1) % ${#APPS[@]} ))]}
            # shellcheck disable=SC2046
            "${SERVER_CPU[@]}" java -Xms512m -Xmx512m -jar "$HTTP/$app/target/app.jar" \
                --server.port="$PORT" --server.address=127.0.0.1 $(limit_args "$mode") \
                > "$LOG/$mode-$round-$app.log" 2>&1 &
            SERVER=$!
            for _ in $(seq 120); do # at most 60 s to start; / is outside every limit, so no permit is spent
                [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/") == 000 ]] || break
                sleep 0.5
            done
            if ! kill -0 "$SERVER" 2>/dev/null; then # it exited: whatever answers is not this app
                echo "$mode $app did not start: see $LOG/$mode-$round-$app.log" >&2
                exit 2
            fi
            # The premise, checked before measuring: admitted answers 200; denied answers 200 once, then 429.
            first_status=$(status) second_status=$(status)
            expected=200
            if [[ "$mode" == denied && "$app" != plain ]]; then
                expected=429
            fi
            if [[ "$first_status" != 200 || "$second_status" != "$expected" ]]; then
                echo "$mode $app: curl got $first_status then $second_status, expected 200 then $expected" >&2
                failed=1
                stop
                continue
            fi
            "${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARM_UP}s" --timeout 5s \
                "http://127.0.0.1:$PORT/hello" > /dev/null
            result=$("${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
                -s "$HTTP/status.lua" "http://127.0.0.1:$PORT/hello" | sed -n 's/^RESULT //p')
            stop
            line="{\"mode\":\"$mode\",\"app\":\"$app\",\"round\":$round,\"threads\":$THREADS,\"connections\":$CONNECTIONS,\"pinned\":$PIN,${result#\{}"
            echo "$line"
            # Every measured response must be the intended one, with no socket errors.
            if ! python3 - "$line" "$expected" <<'PY'
import json, sys
r, expected = json.loads(sys.argv[1]), int(sys.argv[2])
good = r["s200"] if expected == 200 else r["s429"]
sys.exit(0 if r["requests"] > 0 and good == r["requests"] and r["socketErrors"] == 0 else 1)
PY
            then
                echo "$mode $app round $round: not every response was $expected (see above)" >&2
                failed=1
            fi
            [[ $first -eq 1 ]] || echo "," >> "$OUT"
            echo "$line" >> "$OUT"
            first=0
        done
    done
done
echo "]" >> "$OUT"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote $OUT"
exit $failed
