#!/usr/bin/env python3
"""Reads the two Gatling reports of load-tests/gate.sh and holds the routed run to its bounds.

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


def main() -> int:
    out, rate, duration, max_ratio = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    p99_bound = float(sys.argv[5]) if len(sys.argv) > 5 else 50.0
    base, routed = figures(out / "baseline"), figures(out / "routed")
    offered = rate * duration + (1 + rate) / 2 * RAMP_SECONDS
    # Gatling reports whole milliseconds: a floor of 2 ms keeps a 1 ms baseline from making the
    # ratio jumpy.
    ratio = routed["p95"] / max(base["p95"], 2.0)
    checks = [
        ("no failed request (routed)", routed["ko"] == 0, f"{routed['ko']:.0f} failed"),
        ("no failed request (baseline)", base["ko"] == 0, f"{base['ko']:.0f} failed"),
        (f"routed p99 under {p99_bound:.0f} ms", routed["p99"] < p99_bound, f"{routed['p99']:.0f} ms"),
        ("achieved rate = offered (routed)", routed["total"] >= 0.99 * offered,
         f"{routed['total']:.0f} of {offered:.0f} requests"),
        (f"routed p95 at most {max_ratio:g}x the baseline's (floor 2 ms)", ratio <= max_ratio,
         f"{routed['p95']:.0f} ms against {base['p95']:.0f} ms ({ratio:.2f}x)"),
    ]
    print()
    print(f"{'run':<10}{'requests':>10}{'failed':>8}{'req/s':>9}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>8}  (ms)")
    for name, f in (("baseline", base), ("routed", routed)):
        print(f"{name:<10}{f['total']:>10.0f}{f['ko']:>8.0f}{f['rps']:>9.1f}{f['p50']:>7.0f}{f['p95']:>7.0f}"
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
