#!/usr/bin/env python3
"""Two iobench binaries (and fio) in one go: did a change make iobench slower per read?

Runs the same 4 KiB random-read cases on a tmpfs file (memory speed: every microsecond is
the tool, the system calls and the kernel's read path) with a BASE binary, a NEW binary
and fio, in interleaved rounds whose order rotates, so drift hits all three alike. For
each case it reports, round by round paired, NEW/BASE IOPS as a geometric mean with a
95% Student-t interval on the log ratio, the CPU time per read of each, and NEW/fio.
With --micro-base/--micro-new it also runs the two `iobench-micro` binaries alternately.

Python 3 standard library only; helpers shared with compare_fio.py.

    python3 benchmarks/binary_ab.py --base /path/to/old/iobench --new .build/release/iobench
    make ab BASE=/path/to/old/.build/release      # both binaries and both micro-benchmarks
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_fio as cf  # noqa: E402

# Two-sided 95% Student-t quantiles by degrees of freedom.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
       10: 2.228, 11: 2.201, 12: 2.179, 14: 2.145, 19: 2.093, 29: 2.045}


def t95(df: int) -> float:
    if df in T95:
        return T95[df]
    keys = sorted(k for k in T95 if k <= df)
    return T95[keys[-1]] if keys else T95[1]


def mean_interval(xs: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t interval (inf with one value)."""
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, math.inf
    return m, t95(len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))


def ratio_interval(logs: list[float]) -> tuple[float, float, float]:
    m, h = mean_interval(logs)
    return math.exp(m), math.exp(m - h), math.exp(m + h)


def run_iobench(binary: str, args, target, case, seed: int) -> dict:
    a = argparse.Namespace(iobench=binary, size=args.size)
    cmd = cf.iobench_cmd(a, target, case, args.runtime, args.ramp_time, seed=seed)
    p = cf.run_cmd(cmd, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"binary_ab: {binary} exited {p.returncode} on {case.key}:\n{p.stderr.strip()}")
    r, _ = cf.parse_iobench(p.stdout)
    r["command"] = cmd
    return r


def run_fio(args, target, case, seed: int, tmp: str) -> dict:
    out = os.path.join(tmp, "fio.json")
    a = argparse.Namespace(fio=args.fio, size=args.size)
    cmd = cf.fio_cmd(a, target, case, args.runtime, args.ramp_time, out, seed)
    p = cf.run_cmd(cmd, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"binary_ab: fio exited {p.returncode} on {case.key}:\n{p.stderr.strip()}")
    with open(out) as f:
        r, _ = cf.parse_fio(f.read())
    r["command"] = cmd
    return r


MICRO_LINE = re.compile(r"^\s+(.+?)\s+([0-9.]+) ns/op")


def run_micro(binary: str) -> dict[str, float]:
    p = cf.run_cmd([binary], timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"binary_ab: {binary} exited {p.returncode}:\n{p.stderr.strip()}")
    return {m.group(1): float(m.group(2)) for m in map(MICRO_LINE.match, p.stdout.splitlines()) if m}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", required=True, help="the iobench binary before the change")
    p.add_argument("--new", default=cf.DEFAULT_IOBENCH, help="the iobench binary after it (default: this build)")
    p.add_argument("--micro-base", help="iobench-micro before the change")
    p.add_argument("--micro-new", help="iobench-micro after it")
    p.add_argument("--micro-rounds", type=int, default=5, help="runs of each micro binary, alternating (default 5)")
    p.add_argument("--cases", default="io_uring-qd32,io_uring-qd1,libaio-qd32,psync-qd1",
                   help="comma-separated, from: " + ", ".join(c.key for c in cf.CASES))
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    p.add_argument("--runtime", type=cf.parse_duration_ms, default=2000, help="measured time per run (default 2s)")
    p.add_argument("--ramp-time", type=cf.parse_duration_ms, default=300, help="warm-up per run (default 300ms)")
    p.add_argument("--size", type=cf.parse_size, default=256 << 20, help="region read (default 256m)")
    p.add_argument("--shm-path", default="/dev/shm/iobench-binary-ab.dat")
    p.add_argument("--fio", default=shutil.which("fio"), help="fio binary (default: from PATH; none: no fio column)")
    p.add_argument("--results", default=cf.DEFAULT_RESULTS)
    args = p.parse_args()
    for name, path in [("--base", args.base), ("--new", args.new), ("--micro-base", args.micro_base),
                       ("--micro-new", args.micro_new), ("--fio", args.fio)]:
        if path and not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"binary_ab: {name} {path} is not an executable file; build it first (make release)", file=sys.stderr)
            return 2
    unknown = [k for k in args.cases.split(",") if k not in cf.CASE_BY_KEY]
    if unknown:
        print(f"binary_ab: unknown case(s) {', '.join(unknown)}; choose from {', '.join(cf.CASE_BY_KEY)}", file=sys.stderr)
        return 2
    cases = [cf.CASE_BY_KEY[k] for k in args.cases.split(",")]
    tools = ["base", "new"] + (["fio"] if args.fio else [])
    runs = len(cases) * len(tools) * args.rounds
    cf.log(f"binary_ab: {runs} runs of {(args.ramp_time + args.runtime) / 1000:.1f} s "
           f"(~{runs * (args.ramp_time + args.runtime + 600) / 60000:.1f} min)")

    # SIGTERM unwinds like SIGINT, so the tmpfs file (RAM) is removed on the way out.
    signal.signal(signal.SIGTERM, lambda signo, frame: sys.exit(128 + signo))
    target = cf.TargetSpec("shm", args.shm_path, "file on tmpfs")
    existed = os.path.exists(target.path)
    prep_args = argparse.Namespace(iobench=args.new, size=args.size)
    cf.prepare_target(prep_args, target)
    data: dict = {c.key: {t: [] for t in tools} for c in cases}
    tmp = tempfile.mkdtemp(prefix="iobench-ab-")
    try:
        for rnd in range(args.rounds):
            for ci, case in enumerate(cases):
                seed = cf.run_seed(rnd, "shm", case.key)
                # Rotate the order so no tool always runs first (or right after another).
                k = (rnd + ci) % len(tools)
                for tool in tools[k:] + tools[:k]:
                    if tool == "fio":
                        r = run_fio(args, target, case, seed, tmp)
                    else:
                        r = run_iobench(args.base if tool == "base" else args.new, args, target, case, seed)
                    data[case.key][tool].append(r)
            cf.log(f"  round {rnd + 1}/{args.rounds} done")
        micro = None
        if args.micro_base and args.micro_new:
            micro = {"base": [], "new": []}
            for i in range(args.micro_rounds):
                for tool in (["base", "new"] if i % 2 == 0 else ["new", "base"]):
                    micro[tool].append(run_micro(args.micro_base if tool == "base" else args.micro_new))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not existed and os.path.exists(target.path):
            os.unlink(target.path)

    summary = {}
    lines = [f"NEW {args.new}\nBASE {args.base}\n{args.rounds} rounds × {args.runtime} ms on {args.shm_path} (tmpfs), "
             "4 KiB random reads, 1 job; paired by round; 95% t intervals", "",
             "| case | BASE IOPS | NEW IOPS | NEW/BASE [95%] | CPU µs/read BASE → NEW (Δ ±95%) | fio IOPS | NEW/fio [95%] |",
             "|---|---|---|---|---|---|---|"]
    for case in cases:
        d = data[case.key]
        base, new = d["base"], d["new"]
        nb = ratio_interval([math.log(n["iops"] / b["iops"]) for n, b in zip(new, base)])
        dcpu = mean_interval([n["cpu_us_per_io"] - b["cpu_us_per_io"] for n, b in zip(new, base)])
        row = {"base_iops_median": statistics.median(r["iops"] for r in base),
               "new_iops_median": statistics.median(r["iops"] for r in new),
               "new_over_base": nb, "cpu_us_base_median": statistics.median(r["cpu_us_per_io"] for r in base),
               "cpu_us_new_median": statistics.median(r["cpu_us_per_io"] for r in new), "cpu_delta_us": dcpu}
        fio_cell = nf_cell = "–"
        if "fio" in d:
            nf = ratio_interval([math.log(n["iops"] / f["iops"]) for n, f in zip(new, d["fio"])])
            row["fio_iops_median"] = statistics.median(r["iops"] for r in d["fio"])
            row["new_over_fio"] = nf
            fio_cell = f"{row['fio_iops_median'] / 1000:.1f}k"
            nf_cell = f"×{nf[0]:.3f} [{nf[1]:.3f}–{nf[2]:.3f}]"
        summary[case.key] = row
        lines.append(f"| {case.label} | {row['base_iops_median'] / 1000:.1f}k | {row['new_iops_median'] / 1000:.1f}k | "
                     f"×{nb[0]:.3f} [{nb[1]:.3f}–{nb[2]:.3f}] | {row['cpu_us_base_median']:.2f} → "
                     f"{row['cpu_us_new_median']:.2f} ({dcpu[0]:+.3f} ±{dcpu[1]:.3f}) | {fio_cell} | {nf_cell} |")
    if micro:
        lines += ["", f"iobench-micro, {args.micro_rounds} runs of each, alternating (median of the runs' medians, ns/op):",
                  "", "| piece | BASE | NEW | NEW/BASE |", "|---|---|---|---|"]
        summary["micro"] = {}
        for name in micro["base"][0]:
            b = statistics.median(m[name] for m in micro["base"])
            n = statistics.median(m[name] for m in micro["new"] if name in m)
            summary["micro"][name] = {"base": b, "new": n}
            lines.append(f"| {name} | {b:.2f} | {n:.2f} | ×{n / b:.3f} |")
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.results, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = os.path.join(args.results, f"binary-ab-{stamp}.json")
    with open(out, "w") as f:
        json.dump({"base": args.base, "new": args.new, "rounds": args.rounds, "runtime_ms": args.runtime,
                   "ramp_ms": args.ramp_time, "target": args.shm_path, "git": cf.git_state(), "summary": summary,
                   "runs": data, "micro_runs": micro, "table": text}, f, indent=1)
    cf.log(f"binary_ab: saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
