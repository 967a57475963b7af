#!/usr/bin/env bash
# Section 4 of the benchmarks: wrk against GET /hello in three Spring Boot 4 applications, built from
# ratelimit-benchmarks/http/{plain,ours,bucket4j} with the Maven profile http-bench:
#   plain     no limiter
#   ours      ratelimit-spring-boot-starter, a YAML rule on /hello keyed by ip
#   bucket4j  bucket4j-spring-boot-starter 0.14.0-RC1 on JCache (Caffeine), a filter on /hello keyed by getRemoteAddr()
# Two modes: "admitted" (10^9 per second: every call admitted) and "denied" (1 per hour: the first call
# takes it during the check below, every later call gets 429).
#
# Interleaved: per mode, every variant is started at once (each on its own port, all pinned to the same
# CPU), checked with curl and warmed up with wrk in turn; then ROUNDS rounds measure each variant for
# DURATION seconds, the order rotating every round. Measuring the variants minutes apart, one after the
# other, let the VM's drift decide: the same app measured 15-20 % apart from one run to the next, more
# than the difference being measured. Side by side, each round's ratio compares runs seconds apart, and
# the median over the rounds is what the page quotes. An idle variant costs the one being measured
# next to nothing (a few timer threads). Besides wrk's figures, each run records the server's CPU time per
# request (utime + stime from /proc), which the pinned, saturated server turns into 1 / throughput.
#
#   ratelimit-benchmarks/http/run-http.sh [--quick]
#
# wrk's status.lua counts the status codes, and the run fails unless every measured response is the
# intended one (200 admitted, 429 denied, 200 for plain) with no socket errors.
# Defaults: 2 modes × (3 × 60 s warm-up + 8 rounds × 3 variants × 10 s): about 15 minutes.
# The warm-up is long because the server's JIT compiler shares its one CPU with the requests: with
# -XX:+PrintCompilation, C2 was still compiling 30-40 s into the load (about 35,000 requests/s), and a
# 10 s warm-up measured whichever application happened to finish compiling first.
# --quick: 2 rounds, 3 s warm-up, 3 s measured (about 2 minutes): for checking the script, not for publishing.
# Environment: HTTP_PORT (18080, then one port up per variant), MODES ("admitted denied"), VARIANTS
# ("plain ours bucket4j"; an entry app:arg,arg passes Spring Boot arguments to that app, e.g.
# VARIANTS="plain ours ours:--ratelimit.headers=none" isolates the cost of the rate-limit headers),
# ROUNDS, WARM_UP, DURATION, THREADS (2), CONNECTIONS (32), PIN (1), OUT.
# PIN=1 runs wrk on CPU 0 and the servers on CPU 1 (taskset), so that neither starves the other on a 2-core
# machine; the JVM then sizes itself for one CPU (serial GC). PIN=0 lets both float over every CPU.
# Writes docs/bench-data/http.json: one object per measured run. Every loop is bounded.
set -euo pipefail

cd "$(dirname "$0")/../.."
PORT=${HTTP_PORT:-18080}
read -r -a MODES <<< "${MODES:-admitted denied}"
read -r -a VARIANTS <<< "${VARIANTS:-plain ours bucket4j}"
ROUNDS=${ROUNDS:-8}
WARM_UP=${WARM_UP:-60}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
PIN=${PIN:-1}
OUT=${OUT:-docs/bench-data/http.json}
if [[ "${1:-}" == "--quick" ]]; then
    ROUNDS=2 WARM_UP=3 DURATION=3 OUT=${OUT/%.json/-quick.json}
fi
HTTP=ratelimit-benchmarks/http
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
HZ=$(getconf CLK_TCK)

# shellcheck source=common.sh
. "$HTTP/common.sh"
build_apps
require_free_ports
if [[ "$PIN" == 1 && $(nproc) -ge 2 ]]; then
    SERVER_CPU=(taskset -c 1) CLIENT_CPU=(taskset -c 0)
else
    SERVER_CPU=() CLIENT_CPU=()
fi
LOG=$(mktemp -d /tmp/ratelimit-bench-http.XXXXXX)
SERVERS=()
trap 'stop_servers; echo "server logs: $LOG"' EXIT

# mode -> the applications' arguments for the mode's limit
limit_args() {
    case "$1" in
        admitted) echo "--bench.limit=1000000000 --bench.period=1s --bench.time=1 --bench.unit=seconds" ;;
        denied) echo "--bench.limit=1 --bench.period=1h --bench.time=1 --bench.unit=hours" ;;
    esac
}

status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/hello"; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "[" > "$OUT"
first=1
failed=0
for mode in "${MODES[@]}"; do
    # Start every variant; each listens on its own port.
    for i in "${!VARIANTS[@]}"; do
        variant=${VARIANTS[$i]} app=${VARIANTS[$i]%%:*} extra=()
        [[ "$variant" == *:* ]] && IFS=, read -r -a extra <<< "${variant#*:}"
        # shellcheck disable=SC2046
        "${SERVER_CPU[@]}" java -Xms512m -Xmx512m -jar "$HTTP/$app/target/app.jar" \
            --server.port="$((PORT + i))" --server.address=127.0.0.1 $(limit_args "$mode") "${extra[@]}" \
            > "$LOG/$mode-$i-$app.log" 2>&1 &
        SERVERS+=($!)
    done
    for i in "${!VARIANTS[@]}"; do
        for _ in $(seq 120); do # at most 60 s to start; / is outside every limit, so no permit is spent
            [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$((PORT + i))/") == 000 ]] || break
            sleep 0.5
        done
        if ! kill -0 "${SERVERS[$i]}" 2>/dev/null; then # it exited: whatever answers is not this app
            echo "$mode ${VARIANTS[$i]} did not start: see $LOG/$mode-$i-*.log" >&2
            exit 2
        fi
    done
    # The premise, checked before measuring: admitted answers 200; denied answers 200 once, then 429.
    expected=()
    for i in "${!VARIANTS[@]}"; do
        expected[$i]=200
        if [[ "$mode" == denied && "${VARIANTS[$i]%%:*}" != plain ]]; then
            expected[$i]=429
        fi
        first_status=$(status $((PORT + i))) second_status=$(status $((PORT + i)))
        if [[ "$first_status" != 200 || "$second_status" != "${expected[$i]}" ]]; then
            echo "$mode ${VARIANTS[$i]}: curl got $first_status then $second_status, expected 200 then ${expected[$i]}" >&2
            exit 2
        fi
    done
    for i in "${!VARIANTS[@]}"; do
        "${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARM_UP}s" --timeout 5s \
            "http://127.0.0.1:$((PORT + i))/hello" > /dev/null
    done
    for round in $(seq "$ROUNDS"); do
        for n in "${!VARIANTS[@]}"; do
            i=$(( (n + round - 1) % ${#VARIANTS[@]} ))
            variant=${VARIANTS[$i]}
            before=$(cpu_ticks "${SERVERS[$i]}")
            result=$("${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
                -s "$HTTP/status.lua" "http://127.0.0.1:$((PORT + i))/hello" | sed -n 's/^RESULT //p')
            after=$(cpu_ticks "${SERVERS[$i]}")
            requests=$(python3 -c "import json, sys; print(json.loads(sys.argv[1])['requests'])" "$result")
            cpu=$(python3 -c "print(round(($after - $before) / $HZ * 1e6 / max(1, $requests), 2))")
            line="{\"mode\":\"$mode\",\"app\":\"$variant\",\"round\":$round,\"threads\":$THREADS,\"connections\":$CONNECTIONS,\"pinned\":$PIN,\"serverCpuMicrosPerRequest\":$cpu,${result#\{}"
            echo "$line"
            # Every measured response must be the intended one, with no socket errors.
            if ! python3 - "$line" "${expected[$i]}" <<'PY'
import json, sys
r, expected = json.loads(sys.argv[1]), int(sys.argv[2])
good = r["s200"] if expected == 200 else r["s429"]
sys.exit(0 if r["requests"] > 0 and good == r["requests"] and r["socketErrors"] == 0 else 1)
PY
            then
                echo "$mode $variant round $round: not every response was ${expected[$i]} (see above)" >&2
                failed=1
            fi
            [[ $first -eq 1 ]] || echo "," >> "$OUT"
            echo "$line" >> "$OUT"
            first=0
        done
    done
    stop_servers
done
echo "]" >> "$OUT"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote $OUT"
exit $failed
