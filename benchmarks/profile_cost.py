#!/usr/bin/env python3
"""What `run --profile` costs (issue 15): the same case with and without it, interleaved.

psync QD1 and io_uring QD32 on a tmpfs file (where the tool's own cost shows most), N
rounds of 2 s each, the two modes alternating which goes first. Reports per case the
geometric mean of the paired IOPS ratios (with / without) and its 95% Student-t
interval (goal: the cost is at most 3% at the default 4999 Hz), the samples taken and
lost, and the sampled CPU time against getrusage of the job threads.

The floor: benchmarks/perf_floor.c (compiled with cc when one is found) runs a bare pread
loop on the same file with and without a cpu-clock event sampling it at the same
frequency, interleaved in the same rounds. Its ratio is what the sampling interrupt
itself costs on this machine; iobench's ratio over the floor's is iobench's own share.

Needs root or kernel.perf_event_paranoid <= 1. Results:
benchmarks/results/profile-cost-<UTC>.json. About 2 minutes with 7 rounds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import binary_ab as ab  # noqa: E402
import compare_fio as cf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {"psync QD1": ["--engine", "psync"],
         "io_uring QD32": ["--engine", "io_uring", "--iodepth", "32"]}


def run(args, target: str, extra: list[str], profile: bool) -> dict:
    cmd = [args.iobench, "run", "--target", target, "--runtime", args.runtime, "--ramp-time", "300ms",
           "--format", "json", "--no-progress"] + extra + (["--profile", "--profile-freq", str(args.freq)] if profile else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"profile_cost: {' '.join(cmd)} failed (exit {p.returncode}): {p.stderr.strip()}")
    c = json.loads(p.stdout)["cases"][0]
    out = {"iops": c["iops"], "cpu_ns_per_io": c["cpu"]["per_io_ns"]}
    if profile:
        pr = c["profile"]
        out.update({"samples": pr["samples"], "lost": pr["lost"], "threads": pr["threads"],
                    "sampled_cpu_ns": pr.get("sampled_cpu_ns"), "rusage_cpu_ns": pr.get("rusage_cpu_ns")})
    return out


def build_floor() -> str | None:
    """Compiles perf_floor.c into a temp dir; None without a C compiler."""
    import shutil
    import tempfile
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        return None
    out = os.path.join(tempfile.mkdtemp(prefix="iobench-perf-floor-"), "perf_floor")
    p = subprocess.run([cc, "-O2", "-o", out, os.path.join(HERE, "perf_floor.c")], capture_output=True, text=True)
    return out if p.returncode == 0 else None


def floor_run(binary: str, target: str, runtime: str, freq: int) -> dict:
    seconds = float(runtime.rstrip("s"))
    p = subprocess.run([binary, target, str(seconds), str(freq)], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"profile_cost: perf_floor failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iobench", default=os.path.join(HERE, "..", ".build", "release", "iobench"))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runtime", default="2s")
    ap.add_argument("--freq", type=int, default=4999)
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    target = f"/dev/shm/iobench-profile-cost-{os.getpid()}.dat"
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    data = {k: {"with": [], "without": []} for k in CASES}
    floor = build_floor()
    if floor:
        data["floor: bare pread loop"] = {"with": [], "without": []}
    else:
        cf.log("no C compiler: the floor (perf_floor.c) is not measured")
    try:
        subprocess.run([args.iobench, "run", "--target", target, "--size", "256m", "--engine", "psync", "--number-ios", "8",
                        "--ramp-time", "0", "--no-progress", "--format", "json"], check=True, capture_output=True)
        for rnd in range(args.rounds):
            for i, (name, extra) in enumerate(CASES.items()):
                order = [False, True] if (rnd + i) % 2 == 0 else [True, False]
                for profile in order:
                    data[name]["with" if profile else "without"].append(run(args, target, extra, profile))
            if floor:
                order = [False, True] if rnd % 2 == 0 else [True, False]
                for profile in order:
                    r = floor_run(floor, target, args.runtime, args.freq if profile else 0)
                    data["floor: bare pread loop"]["with" if profile else "without"].append(
                        {"iops": r["reads_per_second"], "samples": r["samples"], "lost": 0})
            cf.log(f"  round {rnd + 1}/{args.rounds} done")
    finally:
        if os.path.exists(target):
            os.unlink(target)
    summary = {}
    for name, d in data.items():
        logs = [math.log(w["iops"] / o["iops"]) for w, o in zip(d["with"], d["without"])]
        g, lo, hi = ab.ratio_interval(logs)
        agree = [w["sampled_cpu_ns"] / w["rusage_cpu_ns"] for w in d["with"] if w.get("sampled_cpu_ns") and w.get("rusage_cpu_ns")]
        summary[name] = {"iops_ratio_geomean": g, "iops_ratio_ci95": [lo, hi],
                         "cost_percent": (1 - g) * 100, "goal_met": lo >= 0.97, "goal_missed": hi < 0.97,
                         "samples_median": cf.median([w["samples"] for w in d["with"]]),
                         "lost_total": sum(w["lost"] for w in d["with"]),
                         "sampled_over_rusage": [min(agree), max(agree)] if agree else None}
        if name != "floor: bare pread loop" and "floor: bare pread loop" in data:
            fl = data["floor: bare pread loop"]
            # Beyond the floor: per round, iobench's ratio over the bare loop's ratio.
            over = [lw - math.log(fw["iops"] / fo["iops"]) for lw, fw, fo in zip(logs, fl["with"], fl["without"])]
            og, olo, ohi = ab.ratio_interval(over)
            summary[name]["over_floor_ratio_geomean"] = og
            summary[name]["over_floor_ratio_ci95"] = [olo, ohi]
            cf.log(f"{name}: over the floor ×{og:.3f} [{olo:.3f}–{ohi:.3f}] (iobench's own share of the cost)")
        cf.log(f"{name}: IOPS with/without ×{g:.3f} [{lo:.3f}–{hi:.3f}] (goal ≥ 0.97: "
               f"{'met' if lo >= 0.97 else 'no' if hi < 0.97 else 'unclear'}), samples {summary[name]['samples_median']}, "
               f"lost {summary[name]['lost_total']}, sampled/getrusage CPU {summary[name]['sampled_over_rusage']}")
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, f"profile-cost-{stamp}.json")
    with open(path, "w") as f:
        json.dump({"schema": "iobench/profile-cost-bench", "schema_version": 1, "git": cf.git_state(), "cpu": cf.cpu_model(),
                   "rounds": args.rounds, "runtime": args.runtime, "frequency_hz": args.freq, "summary": summary,
                   "runs": data}, f, indent=1)
    cf.log(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
