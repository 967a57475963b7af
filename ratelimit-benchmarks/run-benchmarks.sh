#!/usr/bin/env bash
# Builds the benchmark jar, runs the in-memory sections of the benchmarks (hot path, many keys,
# memory), writes the raw results to docs/bench-data/ and draws the charts into docs/.
#
#   ratelimit-benchmarks/run-benchmarks.sh [--quick] [hot-path|many-keys|memory|lookup-cost ...]
#
# With no section, runs all three (about 25 minutes with the defaults in the benchmark classes).
# --quick runs one short fork per benchmark: for checking the script, not for publishing.
# JMH_OPTS="-f 1 -wi 2 -i 3" overrides the classes' fork and iteration settings otherwise.
# Publish only figures from a quiet machine: nothing else running, same JDK for every section.
set -euo pipefail

cd "$(dirname "$0")/.."
JAR=ratelimit-benchmarks/target/benchmarks.jar
DATA=docs/bench-data
read -r -a JMH_OPTS <<< "${JMH_OPTS:-}"
if [[ "${1:-}" == "--quick" ]]; then
    JMH_OPTS=(-f 1 -wi 1 -i 1 -w 1s -r 1s)
    shift
fi
SECTIONS=("$@")
if [[ ${#SECTIONS[@]} -eq 0 ]]; then
    SECTIONS=(hot-path many-keys memory lookup-cost)
fi

./mvnw -B -q -pl ratelimit-benchmarks -am package -DskipTests
mkdir -p "$DATA"

# Names the changed files, so that a figure never silently belongs to code no commit holds. Read
# before machine.txt is rewritten below, which would otherwise always count as a change.
changed=$(git status --porcelain --untracked-files=no | awk '{print $2}' | tr '\n' ' ')
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD)${changed:+ (uncommitted changes: $changed)}"
    echo "cpus: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "java: $(java -version 2>&1 | head -1)"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$DATA/machine.txt"

jmh() { # section, benchmark class
    java -jar "$JAR" "$2" -prof gc "${JMH_OPTS[@]}" -rf json -rff "$DATA/$1.json" | tee "ratelimit-benchmarks/target/$1.log"
}

memory() {
    local configurations=(OURS BUCKET4J_MAP BUCKET4J_CAFFEINE ATOMIC_LONG_MAP) first=1
    echo "[" > "$DATA/memory.json"
    for configuration in "${configurations[@]}"; do
        # A fresh JVM per configuration, so nothing from another one is still live.
        line=$(java -XX:+UseG1GC -XX:G1HeapRegionSize=32m -Xms4g -Xmx4g -cp "$JAR" \
            dev.ratelimit.benchmarks.HeapPerKey "$configuration" 1000000 | tail -1)
        echo "$line"
        [[ $first -eq 1 ]] || echo "," >> "$DATA/memory.json"
        echo "$line" >> "$DATA/memory.json"
        first=0
    done
    echo "]" >> "$DATA/memory.json"
}

for section in "${SECTIONS[@]}"; do
    case "$section" in
        hot-path) jmh hot-path HotPathBenchmark ;;
        many-keys) jmh many-keys ManyKeysBenchmark ;;
        memory) memory ;;
        lookup-cost) jmh lookup-cost LookupCostBenchmark ;; # diagnosis: store and clock costs, no chart
        # http and redis: sections 4 and 5 of issue 6 add their runs here, writing $DATA/<section>.json.
        *) echo "unknown section: $section (hot-path, many-keys, memory, lookup-cost)" >&2; exit 2 ;;
    esac
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$DATA/machine.txt"

python3 ratelimit-benchmarks/draw-charts.py "$DATA" docs > "$DATA/tables.md"
cat "$DATA/tables.md"
