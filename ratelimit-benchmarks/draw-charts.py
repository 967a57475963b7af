#!/usr/bin/env python3
"""Draws one SVG chart per benchmark section from the raw results in docs/bench-data/, and prints
the Markdown tables (figures and ratios, all from the same run) that docs/benchmarks.md quotes.

Standard library only. Usage: python3 ratelimit-benchmarks/draw-charts.py [DATA_DIR] [OUT_DIR]
"""
import json
import os
import re
import sys
from xml.sax.saxutils import escape

DATA = sys.argv[1] if len(sys.argv) > 1 else "docs/bench-data"
OUT = sys.argv[2] if len(sys.argv) > 2 else "docs"
COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]


def load(name):
    path = os.path.join(DATA, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def label(result):
    """ours TOKEN_BUCKET ADMITTED, bucket4j DENIED, guava ..."""
    method = result["benchmark"].rsplit(".", 1)[1]
    method = re.sub(r"(OneThread|TwoThreads)$", "", method)
    params = result.get("params", {})
    parts = [method] + [params[k] for k in ("algorithm", "outcome") if k in params]
    return " ".join(parts)


def secondary(result, name):
    metric = result.get("secondaryMetrics", {}).get(name)
    return None if metric is None else metric["score"]


def rows(results):
    """{label: {threads: result}} in first-seen order."""
    table = {}
    for r in results:
        table.setdefault(label(r), {})[r["threads"]] = r
    return table


def bar_chart(path, title, unit, groups, series):
    """groups: [(label, [value per series or None])]; series: [name]."""
    bar, gap, left, width = 14, 10, 330, 420
    top = 50
    height = top + len(groups) * (len(series) * bar + gap) + 40
    peak = max((v for _, vs in groups for v in vs if v is not None), default=1) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<text x="10" y="20" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, name in enumerate(series):
        out.append(f'<rect x="{left + i * 110}" y="30" width="10" height="10" fill="{COLOURS[i]}"/>'
                   f'<text x="{left + 14 + i * 110}" y="39">{escape(name)}</text>')
    y = top
    for name, values in groups:
        out.append(f'<text x="{left - 6}" y="{y + len(series) * bar / 2 + 4}" text-anchor="end">{escape(name)}</text>')
        for i, v in enumerate(values):
            if v is not None:
                w = max(1, v / peak * width)
                out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{COLOURS[i]}"/>'
                           f'<text x="{left + w + 4:.1f}" y="{y + bar - 4}">{v:.3g}</text>')
            y += bar
        y += gap
    out.append(f'<text x="{left}" y="{height - 12}" fill="#555">{escape(unit)}</text></svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {path}", file=sys.stderr)


def fmt(x, digits=3):
    x = None if x is None or x == "NaN" else float(x)  # JMH writes "NaN" when one iteration has no error
    return "–" if x is None else f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def score(entry):
    return None if entry is None else entry["primaryMetric"]["score"]


def hot_path(results):
    table = rows(results)
    threads = sorted({t for by in table.values() for t in by})
    bar_chart(os.path.join(OUT, "bench-hot-path.svg"), "Hot path, one key (higher is better)",
              "ops/µs, all threads together", [(k, [score(v.get(t)) for t in threads]) for k, v in table.items()],
              [f"{t} thread{'s' if t > 1 else ''}" for t in threads])
    print("### Hot path, one key\n")
    head = " | ".join(f"{t}T ops/µs | {t}T B/op | {t}T ÷ Bucket4j" for t in threads)
    print(f"| Benchmark | {head} | denied, all measured iterations |")
    print("|---" * (1 + 3 * len(threads) + 1) + "|")
    for name, by in table.items():
        outcome = "DENIED" if "DENIED" in name else "ADMITTED"
        base = table.get(f"bucket4j {outcome}", {})
        cells = []
        for t in threads:
            r = by.get(t)
            cells += [fmt(score(r)), fmt(secondary(r, "gc.alloc.rate.norm") if r else None, 2),
                      ratio(score(r), score(base.get(t)))]
        denied = max((secondary(r, "denied") or 0) for r in by.values())
        print(f"| {name} | {' | '.join(cells)} | {fmt(denied)} |")
    print()


def many_keys(results):
    table = rows(results)
    bar_chart(os.path.join(OUT, "bench-many-keys.svg"), "100,000 keys, Zipf 0.99, 2 threads (higher is better)",
              "ops/µs, both threads together", [(k, [score(next(iter(v.values())))]) for k, v in table.items()],
              ["2 threads"])
    print("### Many keys\n")
    print("| Benchmark | ops/µs | ± | B/op | ours ÷ this |")
    print("|---|---|---|---|---|")
    ours = score(next(iter(table.get("ours", {None: None}).values())))
    for name, by in table.items():
        r = next(iter(by.values()))
        print(f"| {name} | {fmt(score(r))} | {fmt(r['primaryMetric']['scoreError'])} | "
              f"{fmt(secondary(r, 'gc.alloc.rate.norm'), 2)} | {ratio(ours, score(r))} |")
    print()


def memory(results):
    bar_chart(os.path.join(OUT, "bench-memory.svg"), "Retained heap per key at 1,000,000 keys (lower is better)",
              "bytes per key beyond the 16-character key string",
              [(r["configuration"], [r["bytesPerKey"]]) for r in results], ["bytes/key"])
    print("### Memory\n")
    print("| Configuration | bytes/key | this ÷ ours |")
    print("|---|---|---|")
    ours = next((r["bytesPerKey"] for r in results if r["configuration"] == "OURS"), None)
    for r in results:
        print(f"| {r['configuration']} | {r['bytesPerKey']:.1f} | {ratio(r['bytesPerKey'], ours)} |")
    print()


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def http(results):
    """run-http.sh: one object per (mode, app, round); medians over the rounds, ratios per round too."""
    apps = list(dict.fromkeys(r["app"] for r in results))
    modes = list(dict.fromkeys(r["mode"] for r in results))
    runs = {(m, a): [r for r in results if r["mode"] == m and r["app"] == a] for m in modes for a in apps}
    rps = {k: median(r["requestsPerSecond"] for r in v) for k, v in runs.items()}
    bar_chart(os.path.join(OUT, "bench-http.svg"), "GET /hello under wrk, median of rounds (higher is better)",
              "requests per second", [(m, [rps[(m, a)] for a in apps]) for m in modes], apps)
    print("### HTTP\n")
    print("| Mode | App | requests/s (median) | rounds | p50 µs | p99 µs | server CPU µs/request (median) "
          "| ÷ plain | ÷ plain, median of the rounds' ratios | statuses |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in modes:
        for a in apps:
            v = runs[(m, a)]
            if not v:
                continue
            per_round = []
            for r in v:
                base = next((b for b in runs[(m, "plain")] if b["round"] == r["round"]), None)
                if base:
                    per_round.append(r["requestsPerSecond"] / base["requestsPerSecond"])
            statuses = f"{sum(r['s200'] for r in v):,}×200, {sum(r['s429'] for r in v):,}×429, " \
                       f"{sum(r['otherStatus'] + r['socketErrors'] for r in v)} other"
            cpu = median(r.get("serverCpuMicrosPerRequest") for r in v)
            print(f"| {m} | {a} | {fmt(rps[(m, a)])} | {len(v)} | {fmt(median(r['p50Micros'] for r in v))} | "
                  f"{fmt(median(r['p99Micros'] for r in v))} | {fmt(cpu) if cpu else 'n/a'} | "
                  f"{ratio(rps[(m, a)], rps.get((m, 'plain')))} | "
                  f"{f'{median(per_round):.2f}× ({min(per_round):.2f}–{max(per_round):.2f})' if per_round else 'n/a'} "
                  f"| {statuses} |")
    for m in modes:
        print(f"\n{m}: ours ÷ bucket4j = {ratio(rps.get((m, 'ours')), rps.get((m, 'bucket4j')))}", end="")
    print("\n")


def side_by_side(results, name="http-side-by-side"):
    """side-by-side.sh: one object per (app, round), every app loaded at once; cost per request."""
    apps = list(dict.fromkeys(r["app"] for r in results))
    base = apps[0]
    by_round = {}
    for r in results:
        by_round.setdefault(r["round"], {})[r["app"]] = r
    print(f"### HTTP side by side ({name}.json): server CPU per request, every variant loaded at once\n")
    print(f"| App | rounds | CPU µs/request (median) | {base} ÷ this, per round: median (range) |")
    print("|---|---|---|---|")
    costs = []
    for a in apps:
        cost = median(r["serverCpuMicrosPerRequest"] for r in results if r["app"] == a)
        ratios = [v[base]["serverCpuMicrosPerRequest"] / v[a]["serverCpuMicrosPerRequest"]
                  for v in by_round.values() if a in v and base in v]
        costs.append(cost)
        print(f"| {a} | {len(ratios)} | {fmt(cost)} | {median(ratios):.3f}× ({min(ratios):.3f}–{max(ratios):.3f}) |")
    bar_chart(os.path.join(OUT, f"bench-{name}.svg"),
              "Server CPU per request, all loaded at once (lower is better)", "µs per request, median of rounds",
              [(a, [c]) for a, c in zip(apps, costs)], ["CPU per request"])
    print()


def redis(results):
    """RedisComparison: one object per (scenario, contender, keys, round); medians over the rounds."""
    def key(r):
        return r["scenario"], r["keys"]
    groups = list(dict.fromkeys(key(r) for r in results))
    contenders = list(dict.fromkeys(r["contender"] for r in results))
    runs = {(g, c): [r for r in results if key(r) == g and r["contender"] == c] for g in groups for c in contenders}

    def med(g, c, field):
        return median(r[field] for r in runs[(g, c)])
    def reads(g, c):
        # Socket reads Redis made per decision: below 1 when commands arrive several to a read.
        # Absent from runs before the harness counted them.
        values = [r["redisReadsPerDecision"] for r in runs[(g, c)] if "redisReadsPerDecision" in r]
        return f"{median(values):.3f}" if values else "n/a"
    admitted = [g for g in groups if g[0] == "admitted"]
    bar_chart(os.path.join(OUT, "bench-redis.svg"), "Redis, 64 callers, every call admitted (higher is better)",
              "decisions per second, median of rounds",
              [(f"{k:,} key{'s' if k > 1 else ''}", [med(g, c, "decisionsPerSecond") for c in contenders])
               for g in admitted for k in [g[1]]], contenders)
    print("### Redis\n")
    print("| Scenario | Keys | Contender | decisions/s | p50 µs | p99 µs | round trips/decision | "
          "Redis commands/decision | Redis reads/decision | Redis CPU µs/decision | client CPU µs/decision | ours ÷ this |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for g in groups:
        for c in contenders:
            if not runs[(g, c)]:
                continue
            print(f"| {g[0]} | {g[1]:,} | {c} | {fmt(med(g, c, 'decisionsPerSecond'))} | "
                  f"{fmt(med(g, c, 'p50Micros'))} | {fmt(med(g, c, 'p99Micros'))} | "
                  f"{med(g, c, 'roundTripsPerDecision'):.4f} | {med(g, c, 'redisCommandsPerDecision'):.4f} | "
                  f"{reads(g, c)} | "
                  f"{fmt(med(g, c, 'redisCpuMicrosPerDecision'))} | {fmt(med(g, c, 'clientCpuMicrosPerDecision'))} | "
                  f"{ratio(med(g, 'OURS', 'decisionsPerSecond'), med(g, c, 'decisionsPerSecond'))} |")
    print()
    for g in groups:
        if g[0] != "admitted" and runs[(g, "OURS_NO_DENY_CACHE")]:
            on, off = med(g, "OURS", "roundTripsPerDecision"), med(g, "OURS_NO_DENY_CACHE", "roundTripsPerDecision")
            print(f"- {g[0]}, {g[1]:,} keys: the deny cache saves "
                  f"{(1 - on / off) * 100:.3f} % of round trips per decision ({on:.6f} against {off:.4f})")
    # The commands our client sends, as Redis counts them: ours sends nothing but EVALSHA, so its
    # commandstats entry is the top-level count, a check on the client's own round-trip count;
    # the script's GET, SET and TIME are counted apart, in "Redis commands/decision".
    for g in groups:
        rs = runs[(g, "OURS")]
        if rs and all("evalsha" in r["redisCommands"] for r in rs):
            server = median(r["redisCommands"]["evalsha"] / r["decisions"] for r in rs)
            print(f"- {g[0]}, {g[1]:,} keys (ours): EVALSHA per decision in INFO commandstats {server:.4f}, "
                  f"round trips counted by the client {med(g, 'OURS', 'roundTripsPerDecision'):.4f}")
    one, thousand = ("admitted", 1), ("admitted", 1_000)
    if one in groups and thousand in groups:
        print(f"- hot-key p99 ÷ 1,000 keys' p99 (ours): "
              f"{ratio(med(one, 'OURS', 'p99Micros'), med(thousand, 'OURS', 'p99Micros'))}")
    print()


SECTIONS = [("hot-path.json", hot_path), ("many-keys.json", many_keys), ("memory.json", memory),
            ("http.json", http), ("http-side-by-side.json", side_by_side),
            ("http-side-by-side-headers.json", lambda results: side_by_side(results, "http-side-by-side-headers")),
            ("redis.json", redis)]

if __name__ == "__main__":
    for file, draw in SECTIONS:
        data = load(file)
        if data:
            draw(data)
