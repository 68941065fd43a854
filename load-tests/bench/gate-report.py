#!/usr/bin/env python3
"""Reads the Gatling reports of load-tests/gate.sh (a baseline and a routed run per round) and
holds the routed runs to their bounds: every round without failures at the offered rate, and the
medians over the rounds of the routed p99 and of the routed p95 over the same round's baseline.

Gatling 3.15 writes no JSON stats and a binary simulation.log, so the figures come from the
ROOT row of each run's index.html (columns: total, ok, ko, %ko, req/s, min, p50, p75, p95, p99,
max, mean, stddev).
"""
import pathlib
import re
import sys

COLUMNS = {2: "total", 3: "ok", 4: "ko", 5: "ko_pct", 6: "rps", 7: "min", 8: "p50", 9: "p75",
           10: "p95", 11: "p99", 12: "max", 13: "mean", 14: "stddev"}
RAMP_SECONDS = 10


def figures(folder: pathlib.Path) -> dict:
    runs = [p for p in folder.iterdir() if (p / "index.html").exists()]
    if len(runs) != 1:
        sys.exit(f"gate: expected one Gatling report under {folder}, found {len(runs)}")
    html = (runs[0] / "index.html").read_text("utf-8")
    row = re.search(r'<tr id="ROOT"[^>]*>(.*?)</tr>', html, re.S)
    if not row:
        sys.exit(f"gate: no ROOT row in {runs[0] / 'index.html'} (Gatling's report layout changed?)")
    cells = re.findall(r'<td class="value \w+ col-(\d+)">([\d.,]+)</td>', row.group(1))
    return {COLUMNS[int(c)]: float(v.replace(",", "")) for c, v in cells if int(c) in COLUMNS}


def median(values: list) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> int:
    out, rate, duration, max_ratio = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    p99_bound = float(sys.argv[5]) if len(sys.argv) > 5 else 50.0
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    pairs = [(figures(out / f"baseline-{r}"), figures(out / f"routed-{r}")) for r in range(1, rounds + 1)]
    offered = rate * duration + (1 + rate) / 2 * RAMP_SECONDS
    # Gatling reports whole milliseconds: a floor of 2 ms keeps a 1 ms baseline from making the
    # ratio jumpy.
    ratios = [routed["p95"] / max(base["p95"], 2.0) for base, routed in pairs]
    routed_p99 = median([routed["p99"] for _, routed in pairs])
    routed_ko = sum(routed["ko"] for _, routed in pairs)
    base_ko = sum(base["ko"] for base, _ in pairs)
    fewest = min(routed["total"] for _, routed in pairs)
    ratio = median(ratios)
    checks = [
        ("no failed request (routed, every round)", routed_ko == 0, f"{routed_ko:.0f} failed"),
        ("no failed request (baseline, every round)", base_ko == 0, f"{base_ko:.0f} failed"),
        (f"median routed p99 under {p99_bound:.0f} ms", routed_p99 < p99_bound, f"{routed_p99:.0f} ms"),
        ("achieved rate = offered (routed, every round)", fewest >= 0.99 * offered,
         f"fewest {fewest:.0f} of {offered:.0f} requests"),
        (f"median routed p95 at most {max_ratio:g}x the baseline's (floor 2 ms)", ratio <= max_ratio,
         f"{ratio:.2f}x (rounds: {', '.join(f'{x:.2f}x' for x in ratios)})"),
    ]
    print()
    print(f"{'run':<12}{'requests':>10}{'failed':>8}{'req/s':>9}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>8}  (ms)")
    for r, (base, routed) in enumerate(pairs, 1):
        for name, f in ((f"baseline-{r}", base), (f"routed-{r}", routed)):
            print(f"{name:<12}{f['total']:>10.0f}{f['ko']:>8.0f}{f['rps']:>9.1f}{f['p50']:>7.0f}{f['p95']:>7.0f}"
                  f"{f['p99']:>7.0f}{f['max']:>8.0f}")
    print()
    failed = 0
    for what, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}: {detail}")
        failed += not ok
    print(f"\ngate: {'passed' if not failed else f'{failed} check(s) failed'}; reports under {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
