#!/usr/bin/env python3
"""The error rate of `--profile`'s difference table: an A/A check.

Runs the same case on two files of the same layout in one run (`--target a=A --target
b=B --profile --repeat R`, so the two are interleaved in every round as a class and its
reference are), pairs round i of one with round i of the other, exactly as the
difference table pairs a class with its reference, and counts how many layer and function rows the 95% t interval calls resolved although
nothing differs. A calibrated method resolves about 5% of rows; the table's advice is
to treat a function row under 2 half-widths as chance, so that count is reported too.
It also computes the sampling-only (binomial) interval the first version used, on the
same data, to show why it was replaced.

Usage: profile_aa.py FILE_A FILE_B [--pairs 4] [--repeat 5] [--runtime 1s] -- ENGINE OPTIONS
(root or kernel.perf_event_paranoid <= 1). Results: results/profile-aa-<UTC>.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Two-sided 95% Student t quantiles by degrees of freedom.
T95 = {1: 12.706, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646, 8: 2.3060, 9: 2.2622}


def run(args, extra: list[str]) -> tuple[list[dict], list[dict]]:
    cmd = [args.iobench, "run", "--target", f"a={args.file_a}", "--target", f"b={args.file_b}", "--runtime", args.runtime,
           "--ramp-time", "200ms", "--repeat", str(args.repeat), "--no-progress", "--format", "json", "--profile"] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise SystemExit(f"profile_aa: {' '.join(cmd)} failed (exit {p.returncode}): {p.stderr.strip()}")
    cases = {c["target_key"]: c for c in json.loads(p.stdout)["cases"]}
    return tuple([u["profile"] for u in sorted(cases[k]["repeats"], key=lambda u: u["index"])] for k in ("a", "b"))


def t_row(d: list[float]) -> tuple[float, float]:
    m = statistics.mean(d)
    return m, T95[len(d) - 1] * statistics.stdev(d) / math.sqrt(len(d))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file_a")
    ap.add_argument("file_b", help="a second file of the same layout (iobench prepare)")
    ap.add_argument("--iobench", default=os.path.join(HERE, "..", ".build", "release", "iobench"))
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--runtime", default="1s")
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    ap.add_argument("engine", nargs=argparse.REMAINDER, help="-- then the engine options, e.g. -- --engine io_uring --iodepth 32")
    args = ap.parse_args()
    extra = [a for a in args.engine if a != "--"] or ["--engine", "psync"]
    layers, functions, binomial = [], [], []
    for k in range(args.pairs):
        a, b = run(args, extra)
        for name in a[0]["layers"]:
            d = [x["layers"].get(name, 0) - y["layers"].get(name, 0) for x, y in zip(a, b)]
            if all(v == 0 for v in d):
                continue
            m, h = t_row(d)
            layers.append({"pair": k, "layer": name, "delta": m, "half_width": h, "resolved": abs(m) > h})
            # The sampling-only interval on the first round of each side (what one run gives).
            pa = a[0]["layers"].get(name, 0) / a[0]["cpu_ns_per_read"]
            pb = b[0]["layers"].get(name, 0) / b[0]["cpu_ns_per_read"]
            se = math.sqrt(a[0]["cpu_ns_per_read"] ** 2 * pa * (1 - pa) / a[0]["samples"]
                           + b[0]["cpu_ns_per_read"] ** 2 * pb * (1 - pb) / b[0]["samples"])
            diff = a[0]["layers"].get(name, 0) - b[0]["layers"].get(name, 0)
            binomial.append({"pair": k, "layer": name, "delta": diff, "half_width": 1.96 * se, "resolved": abs(diff) > 1.96 * se})
        names = set().union(*[x["self_ns_per_read"].keys() for x in a + b])
        for n in names:
            d = [x["self_ns_per_read"].get(n, 0) - y["self_ns_per_read"].get(n, 0) for x, y in zip(a, b)]
            m, h = t_row(d)
            functions.append({"pair": k, "function": n, "delta": m, "half_width": h,
                              "resolved": abs(m) > h, "beyond_2x": abs(m) > 2 * h})
        print(f"pair {k + 1}/{args.pairs} done", file=sys.stderr)
    summary = {
        "layers": {"rows": len(layers), "resolved": sum(r["resolved"] for r in layers)},
        "functions": {"rows": len(functions), "resolved": sum(r["resolved"] for r in functions),
                      "beyond_2x_half_width": sum(r["beyond_2x"] for r in functions)},
        "binomial_layers_one_round": {"rows": len(binomial), "resolved": sum(r["resolved"] for r in binomial)},
    }
    for k, v in summary.items():
        extra_text = f", {v['beyond_2x_half_width']} beyond 2x" if "beyond_2x_half_width" in v else ""
        print(f"{k}: {v['resolved']} of {v['rows']} resolved ({100 * v['resolved'] / max(v['rows'], 1):.1f}%){extra_text}")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, f"profile-aa-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"command": " ".join(sys.argv), "targets": [args.file_a, args.file_b], "engine": extra, "repeat": args.repeat,
                   "runtime": args.runtime, "summary": summary, "layers": layers, "binomial": binomial,
                   "functions": functions}, f, indent=1)
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
