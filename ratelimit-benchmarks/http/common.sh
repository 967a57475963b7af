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
