#!/usr/bin/env bash
# Section 4 of the benchmarks, the precise half: the server CPU each request costs, with every variant
# loaded at the same moment. run-http.sh measures throughput, one variant at a time; on this VM two runs
# of the same app seconds apart differ by up to 20 %, which hides a 5 % difference unless hundreds of
# rounds are run. Here every variant runs on CPU 1 at once, each under its own wrk (on CPU 0), so
# whatever the machine does to one it does to all in the same seconds; each variant's CPU time
# (utime + stime from /proc) divided by the requests it served is its cost per request. A server pinned
# to a saturated CPU serves 1 / (cost per request), so the ratio of costs is the ratio of the throughputs
# each would reach alone. The variants also share the CPU and its caches, and that sharing is not neutral:
# on 2026-12-01 (AMD VM) ours cost 0.89x of plain here but 0.95x in run-http.sh's rounds, where each app
# has the CPU to itself, as a server in production would. So this script ranks variants steadily, and
# run-http.sh's throughput, one at a time, gives the ratio a lone server sees.
#
#   ratelimit-benchmarks/http/side-by-side.sh
#
# Environment: VARIANTS ("plain ours"; an entry app:arg,arg passes Spring Boot arguments to that app, e.g.
# "plain ours ours:--ratelimit.headers=none"), ROUNDS (12), DURATION (10 s per round), WARM_UP (60 s per
# variant, all loaded together, so a variant gets about 1 / n of CPU 1 meanwhile), HTTP_PORT (18180,
# then one port up per variant), OUT (docs/bench-data/http-side-by-side.json), SKIP_BUILD.
# Every variant answers with the limit of the admitted mode (10^9 a second), and every response of every
# round must be a 200 with no socket error, or the run fails. Every loop is bounded.
set -euo pipefail

cd "$(dirname "$0")/../.."
read -r -a VARIANTS <<< "${VARIANTS:-plain ours}"
ROUNDS=${ROUNDS:-12}
DURATION=${DURATION:-10}
WARM_UP=${WARM_UP:-$(( 60 * ${#VARIANTS[@]} ))}
PORT=${HTTP_PORT:-18180}
OUT=${OUT:-docs/bench-data/http-side-by-side.json}
HTTP=ratelimit-benchmarks/http
HZ=$(getconf CLK_TCK)
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[[ $(nproc) -ge 2 ]] || { echo "needs 2 CPUs: servers on CPU 1, wrk on CPU 0" >&2; exit 2; }

# shellcheck source=common.sh
. "$HTTP/common.sh"
build_apps
require_free_ports
LOG=$(mktemp -d /tmp/ratelimit-bench-side.XXXXXX)
SERVERS=()
trap 'stop_servers; echo "server logs: $LOG"' EXIT

for i in "${!VARIANTS[@]}"; do
    start_admitting "${VARIANTS[$i]}" "$((PORT + i))" "$LOG/$i.log"
done
for i in "${!VARIANTS[@]}"; do
    await_hello "$((PORT + i))" "${SERVERS[$i]}" "${VARIANTS[$i]}" "$LOG/$i.log"
done

# load DURATION NAME: one wrk per variant, all at once; leaves each one's RESULT line in $LOG/NAME-i.txt
load() {
    local pids=()
    for i in "${!VARIANTS[@]}"; do
        taskset -c 0 wrk -t1 -c16 -d"$1s" --timeout 5s -s "$HTTP/status.lua" "http://127.0.0.1:$((PORT + i))/hello" \
            > "$LOG/$2-$i.txt" &
        pids+=($!)
    done
    wait "${pids[@]}"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
load "$WARM_UP" warm-up
echo "[" > "$OUT"
failed=0
for round in $(seq "$ROUNDS"); do
    before=()
    for i in "${!VARIANTS[@]}"; do before[$i]=$(cpu_ticks "${SERVERS[$i]}"); done
    load "$DURATION" "round-$round"
    for i in "${!VARIANTS[@]}"; do
        ticks=$(( $(cpu_ticks "${SERVERS[$i]}") - before[i] ))
        result=$(sed -n 's/^RESULT //p' "$LOG/round-$round-$i.txt")
        line=$(python3 - "$result" "$ticks" "$HZ" "${VARIANTS[$i]}" "$round" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
r = {"app": sys.argv[4], "round": int(sys.argv[5]), "cpuTicks": ticks,
     "serverCpuMicrosPerRequest": round(ticks / hz * 1e6 / max(1, r["requests"]), 3), **r}
print(json.dumps(r))
PY
)
        echo "$line"
        if ! python3 -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r["requests"] > 0 and r["s200"] == r["requests"] and r["socketErrors"] == 0 else 1)' "$line"; then
            echo "${VARIANTS[$i]} round $round: not every response was 200 (see above)" >&2
            failed=1
        fi
        [[ $round -eq 1 && $i -eq 0 ]] || echo "," >> "$OUT"
        echo "$line" >> "$OUT"
    done
done
echo "]" >> "$OUT"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrote $OUT"
exit $failed
