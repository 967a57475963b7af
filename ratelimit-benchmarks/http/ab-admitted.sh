#!/usr/bin/env bash
# Admitted-path A/B with a long warm-up (WARM_UP s of wrk, default 60, then DURATION s measured, default 15):
# each app alone on CPU 1, wrk on CPU 0, ROUNDS rounds (default 2). The warm-up is long because the app's
# JIT compiler shares CPU 1 with the requests: with -XX:+PrintCompilation, C2 was still compiling 30-40 s
# into the load, so a shorter warm-up measures whichever app happened to finish compiling first.
# Build the apps first: run-http.sh does, or delete ratelimit-benchmarks/http/*/target/app.jar (an app
# whose module did not change is not repackaged and keeps its old starter), then ./mvnw -B -q -P http-bench
# -pl ratelimit-benchmarks/http/plain,ratelimit-benchmarks/http/ours,ratelimit-benchmarks/http/bucket4j -am package -DskipTests.
# VARIANTS (default "plain ours bucket4j") lists the apps to alternate; an entry app:arg,arg passes
# Spring Boot arguments to that app, e.g. VARIANTS="plain ours ours:--ratelimit.headers=none" isolates
# the cost of the rate-limit headers. Run from the repository root; prints one line per variant and
# round. Every loop is bounded.
set -u
read -r -a variants <<< "${VARIANTS:-plain ours bucket4j}"
for round in $(seq 1 "${ROUNDS:-2}"); do
  for variant in "${variants[@]}"; do
    app=${variant%%:*}
    extra=()
    [[ "$variant" == *:* ]] && IFS=, read -r -a extra <<< "${variant#*:}"
    if curl -s -o /dev/null http://127.0.0.1:18095/; then
      echo "something already answers on port 18095: stop it first" >&2; exit 2
    fi
    taskset -c 1 java -jar ratelimit-benchmarks/http/$app/target/app.jar --server.port=18095 \
        --bench.limit=1000000000 --bench.period=1s --bench.time=1 --bench.unit=seconds "${extra[@]}" > /tmp/ab-$app.log 2>&1 &
    pid=$!
    for i in $(seq 1 60); do sleep 1; curl -s -o /dev/null http://127.0.0.1:18095/hello && break; done
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$variant did not start: see /tmp/ab-$app.log" >&2; exit 2
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18095/hello)
    taskset -c 0 wrk -t2 -c32 -d${WARM_UP:-60}s http://127.0.0.1:18095/hello > /dev/null
    rps=$(taskset -c 0 wrk -t2 -c32 -d${DURATION:-15}s http://127.0.0.1:18095/hello | awk '/Requests\/sec/ {print $2}')
    echo "round=$round app=$variant status=$code rps=$rps"
    kill $pid; wait $pid 2>/dev/null
  done
done
