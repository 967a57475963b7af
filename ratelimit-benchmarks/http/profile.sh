#!/usr/bin/env bash
# Where a request's CPU goes, app by app: async-profiler's CPU samples of each variant under wrk, one
# variant at a time, and a summary of the samples per request (profile-summary.py). Used to find what
# ours costs beyond plain: the filter's own frames (everything under RateLimitFilter.doFilter but the
# chain it calls) against the rest of the server.
#
#   ratelimit-benchmarks/http/profile.sh
#
# Environment: VARIANTS ("plain ours ours:--ratelimit.headers=none"; app:arg,arg as in side-by-side.sh),
# WARM_UP (30 s), DURATION (30 s profiled), INTERVAL (200us between samples of CPU time), HTTP_PORT (18380),
# OUT (docs/bench-data/http-profile.txt, the summary), SKIP_BUILD. The collapsed stacks stay in a
# temporary folder (about 1 MB each), named at the end. async-profiler 4.1 comes from Maven Central
# (tools.profiler:async-profiler), copied into ratelimit-benchmarks/target/async-profiler. The server
# runs on CPU 1 and wrk (-t1 -c16) on CPU 0, as in side-by-side.sh. Every loop is bounded.
set -euo pipefail

cd "$(dirname "$0")/../.."
read -r -a VARIANTS <<< "${VARIANTS:-plain ours ours:--ratelimit.headers=none}"
WARM_UP=${WARM_UP:-30}
DURATION=${DURATION:-30}
INTERVAL=${INTERVAL:-200us}
PORT=${HTTP_PORT:-18380}
OUT=${OUT:-docs/bench-data/http-profile.txt}
HTTP=ratelimit-benchmarks/http
AP=ratelimit-benchmarks/target/async-profiler
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[[ $(nproc) -ge 2 ]] || { echo "needs 2 CPUs: the server on CPU 1, wrk on CPU 0" >&2; exit 2; }

# shellcheck source=common.sh
. "$HTTP/common.sh"
build_apps
require_free_ports # the variants run in turn on PORT; this checks the ports above it too, which is harmless
if [[ ! -f "$AP/linux-x64/libasyncProfiler.so" ]]; then
    ./mvnw -B -q dependency:copy -Dartifact=tools.profiler:async-profiler:4.1 -DoutputDirectory="$AP"
    (cd "$AP" && unzip -q -o async-profiler-4.1.jar 'linux-x64/*')
fi
LIB=$(realpath "$AP/linux-x64/libasyncProfiler.so")
# CPU-time sampling reads perf events, which the default paranoia level (2) allows only for the kernel
# part of a process's own threads; 1 is enough, and async-profiler falls back to timers without it.
[[ $(cat /proc/sys/kernel/perf_event_paranoid) -le 1 ]] || echo 1 > /proc/sys/kernel/perf_event_paranoid || true

LOG=$(mktemp -d /tmp/ratelimit-bench-profile.XXXXXX)
SERVERS=()
trap 'stop_servers; echo "server logs and stacks: $LOG"' EXIT
: > "$OUT"
for i in "${!VARIANTS[@]}"; do
    variant=${VARIANTS[$i]}
    start_admitting "$variant" "$PORT" "$LOG/$i.log"
    await_hello "$PORT" "${SERVERS[0]}" "$variant" "$LOG/$i.log"
    taskset -c 0 wrk -t1 -c16 -d"${WARM_UP}s" "http://127.0.0.1:$PORT/hello" > /dev/null
    # jcmd would split an unquoted option string at its '=' signs into arguments of its own.
    jcmd "${SERVERS[0]}" JVMTI.agent_load "$LIB" "'start,event=cpu,interval=$INTERVAL'" > /dev/null
    taskset -c 0 wrk -t1 -c16 -d"${DURATION}s" --timeout 5s -s "$HTTP/status.lua" "http://127.0.0.1:$PORT/hello" \
        > "$LOG/$i-wrk.txt"
    jcmd "${SERVERS[0]}" JVMTI.agent_load "$LIB" "'stop,file=$LOG/$i.collapsed,collapsed'" > /dev/null
    stop_servers
    requests=$(sed -n 's/^RESULT //p' "$LOG/$i-wrk.txt" | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"])')
    python3 "$HTTP/profile-summary.py" "$variant" "$LOG/$i.collapsed" "$requests" "$INTERVAL" | tee -a "$OUT"
done
echo "wrote $OUT"
