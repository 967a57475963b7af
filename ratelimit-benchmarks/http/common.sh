# Shared by run-http.sh and side-by-side.sh (sourced, from the repository root, with HTTP, PORT and
# VARIANTS set): building the apps, checking the ports, reading a server's CPU time, stopping the servers.

# Builds the three apps unless SKIP_BUILD is set. An app whose own module did not change is not
# repackaged, and keeps the starter it was first built with: without the rm, a rebuild after a starter
# change measures the old starter.
build_apps() {
    if [[ -z "${SKIP_BUILD:-}" ]]; then
        rm -f "$HTTP"/{plain,ours,bucket4j}/target/app.jar
        ./mvnw -B -q -P http-bench -pl "$HTTP/plain,$HTTP/ours,$HTTP/bucket4j" -am package -DskipTests
    fi
}

# Stops unless PORT and the ports above it, one per variant, are free: a leftover server once answered
# for an app that had failed to start, and a whole run measured the wrong app.
require_free_ports() {
    for i in "${!VARIANTS[@]}"; do
        if curl -s -o /dev/null "http://127.0.0.1:$((PORT + i))/"; then
            echo "something already answers on 127.0.0.1:$((PORT + i)); set HTTP_PORT to a free range" >&2
            exit 2
        fi
    done
}

# A process's CPU time so far, in clock ticks (utime + stime).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Stops every server in SERVERS and waits for each to exit.
stop_servers() {
    for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
    SERVERS=()
}

# start_admitting VARIANT PORT LOGFILE: starts one variant (app or app:arg,arg) on CPU 1 with the admitted
# mode's limit (10^9 a second), in the background, and appends its pid to SERVERS.
start_admitting() {
    local variant=$1 extra=()
    [[ "$variant" == *:* ]] && IFS=, read -r -a extra <<< "${variant#*:}"
    taskset -c 1 java -Xms512m -Xmx512m -jar "$HTTP/${variant%%:*}/target/app.jar" --server.port="$2" \
        --server.address=127.0.0.1 --bench.limit=1000000000 --bench.period=1s --bench.time=1 --bench.unit=seconds \
        "${extra[@]}" > "$3" 2>&1 &
    SERVERS+=($!)
}

# await_hello PORT PID NAME LOGFILE: waits at most 60 s for GET /hello on PORT to answer 200, then stops the
# script unless PID is still alive (else whatever answered is not this app).
await_hello() {
    for _ in $(seq 120); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/hello") == 200 ]] && break
        sleep 0.5
    done
    if ! kill -0 "$2" 2>/dev/null; then
        echo "$3 did not start: see $4" >&2
        exit 2
    fi
}
