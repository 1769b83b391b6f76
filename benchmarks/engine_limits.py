#!/usr/bin/env python3
"""iobench's own cost per I/O at the hardware limit, against t/io_uring and fio (issue 12).

In one go, in interleaved rounds whose order rotates (drift hits every tool alike), on a
tmpfs file (memory speed: every nanosecond is the tool, the system calls and the
kernel's read path), 4 KiB random reads, one job:

  nop       iobench io_uring-nop QD32, batches of 32, every op timed   vs t/io_uring -N1 -d32 -s32 -c32 -p0 -B0 -F0
  nop-nolat the same with --no-latency                                 vs the same t/io_uring run
  null      iobench null QD1, every op timed                           vs fio --ioengine=null QD1
  uring32   iobench io_uring QD32 fixed buffers+files, batches of 32   vs t/io_uring -d32 -s32 -c32 -p0 -B1 -F1
  uring128  the same at QD128                                           vs t/io_uring -d128 -s32 -c32 -p0 -B1 -F1
  psync1, libaio32, uring32-fio: iobench vs fio with the same settings (compare_fio.py's cases)

t/io_uring times nothing (its default -t0); iobench times every op unless the case says
--no-latency. Each ratio is iobench/reference IOPS, paired by round: the geometric mean
with a 95% Student-t interval on the log ratio, and the median and range of each tool.
CPU per op: iobench's and fio's own figure for the measured phase; t/io_uring's is its
whole process (user+system, from os.times of the children) over its steady rate times
its wall time, so set-up is included: it reads somewhat high.

t/io_uring comes from fio's source tree (FIO_SRC or --fio-src; fetch github:axboe/fio
and clone it): when FIO_SRC/t/io_uring is missing, this script builds it there with
`./configure --disable-native && make t/io_uring` and says so. Debian's fio has no
t/io_uring. None of fio's code is part of iobench.

    FIO_SRC=/path/to/fio python3 benchmarks/engine_limits.py          # or: make limits FIO_SRC=...
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import binary_ab as ab  # noqa: E402
import compare_fio as cf  # noqa: E402


@dataclass(frozen=True)
class LimitCase:
    key: str
    label: str
    iobench: list[str]
    # "t/io_uring": its arguments; "fio": a compare_fio Case or the null engine.
    ref_tool: str
    ref_args: list[str] = field(default_factory=list)
    fio_case: cf.Case | None = None
    goal: float = 1.0
    goal_text: str = ""


NOP_TIO = ["-N1", "-d32", "-s32", "-c32", "-p0", "-B0", "-F0"]
CASES = [
    LimitCase("nop", "io_uring-nop QD32 b32, every op timed", ["--engine", "io_uring-nop", "--iodepth", "32",
              "--submit-batch", "32", "--complete-batch", "32"], "t/io_uring", NOP_TIO, goal=0.95,
              goal_text="≥ 0.95× t/io_uring -N1"),
    LimitCase("nop-nolat", "io_uring-nop QD32 b32, --no-latency", ["--engine", "io_uring-nop", "--iodepth", "32",
              "--submit-batch", "32", "--complete-batch", "32", "--no-latency"], "t/io_uring", NOP_TIO, goal=1.0,
              goal_text="≥ 1.0× t/io_uring -N1"),
    LimitCase("null", "null QD1, every op timed", ["--engine", "null", "--iodepth", "1"], "fio",
              fio_case=cf.Case("null", "null QD1", "null", 1), goal=2.0, goal_text="≥ 2× fio null QD1"),
    LimitCase("uring32", "io_uring QD32 fixed+reg b32, every read timed", ["--engine", "io_uring", "--iodepth", "32",
              "--fixed-buffers", "--registered-files", "--submit-batch", "32", "--complete-batch", "32"],
              "t/io_uring", ["-d32", "-s32", "-c32", "-p0", "-B1", "-F1"], goal=0.95, goal_text="≥ 0.95× t/io_uring"),
    LimitCase("uring128", "io_uring QD128 fixed+reg b32, every read timed", ["--engine", "io_uring", "--iodepth", "128",
              "--fixed-buffers", "--registered-files", "--submit-batch", "32", "--complete-batch", "32"],
              "t/io_uring", ["-d128", "-s32", "-c32", "-p0", "-B1", "-F1"], goal=0.95, goal_text="≥ 0.95× t/io_uring"),
    LimitCase("psync1", "psync QD1", cf.CASE_BY_KEY["psync-qd1"].iobench_args(), "fio",
              fio_case=cf.CASE_BY_KEY["psync-qd1"], goal=1.0, goal_text="≥ 1.0× fio"),
    LimitCase("libaio32", "libaio QD32", cf.CASE_BY_KEY["libaio-qd32"].iobench_args(), "fio",
              fio_case=cf.CASE_BY_KEY["libaio-qd32"], goal=1.0, goal_text="≥ 1.0× fio"),
    LimitCase("uring32-fio", "io_uring QD32", cf.CASE_BY_KEY["io_uring-qd32"].iobench_args(), "fio",
              fio_case=cf.CASE_BY_KEY["io_uring-qd32"], goal=1.0, goal_text="≥ 1.0× fio"),
]
CASE_BY_KEY = {c.key: c for c in CASES}

IOPS_LINE = re.compile(r"^IOPS=([0-9.]+)([KMG]?)", re.M)
SCALE = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9}


def find_t_io_uring(args) -> str:
    if args.t_io_uring:
        return args.t_io_uring
    src = args.fio_src
    if not src:
        raise SystemExit("engine_limits: t/io_uring is needed: set FIO_SRC to a clone of fio's source "
                         "(fetch github:axboe/fio, then git clone it), or pass --t-io-uring PATH")
    binary = os.path.join(src, "t", "io_uring")
    if os.access(binary, os.X_OK):
        return binary
    if not os.path.isfile(os.path.join(src, "configure")):
        raise SystemExit(f"engine_limits: {src} is not fio's source tree (no configure); set FIO_SRC to a clone of github:axboe/fio")
    cf.log(f"engine_limits: {binary} is missing: building it from fio's source in {src} "
           "(./configure --disable-native && make t/io_uring)")
    if not os.path.isfile(os.path.join(src, "config-host.mak")):
        p = subprocess.run(["./configure", "--disable-native"], cwd=src, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"engine_limits: fio's configure failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    p = subprocess.run(["make", f"-j{os.cpu_count() or 1}", "t/io_uring"], cwd=src, capture_output=True, text=True)
    if p.returncode != 0 or not os.access(binary, os.X_OK):
        raise SystemExit(f"engine_limits: building t/io_uring failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    cf.log(f"engine_limits: built {binary}")
    return binary


def run_t_io_uring(binary: str, case: LimitCase, target: str, seconds: int) -> dict:
    cmd = [binary] + case.ref_args + [f"-r{seconds}", target]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=seconds + 60)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"engine_limits: {' '.join(cmd)} exited {proc.returncode}:\n{out[-2000:]}")
    lines = [float(v) * SCALE[s] for v, s in IOPS_LINE.findall(out)]
    if not lines:
        raise SystemExit(f"engine_limits: no IOPS line from {' '.join(cmd)}:\n{out[-2000:]}")
    # The first second includes start-up: drop it when there are more.
    steady = lines[1:] if len(lines) > 1 else lines
    # It prints one line per whole second: its ops over the run are estimated as the
    # steady rate times the process's wall time (start-up counted as if at speed).
    return {"iops": statistics.fmean(steady), "per_second": lines, "command": cmd,
            "ops": statistics.fmean(steady) * wall, "wall_s": wall}


def cpu_of_children_since(before) -> float:
    now = os.times()
    return (now.children_user - before.children_user) + (now.children_system - before.children_system)


def run_fio_case(args, case: LimitCase, target: cf.TargetSpec, seed: int, tmp: str) -> dict:
    out = os.path.join(tmp, "fio.json")
    a = argparse.Namespace(fio=args.fio, size=args.size)
    cmd = cf.fio_cmd(a, target, case.fio_case, args.runtime, args.ramp_time, out, seed)
    if case.fio_case.engine == "null":
        # fio's null engine touches no file; direct=1 and the file options stay harmless.
        cmd = [c for c in cmd if not c.startswith("--iodepth_batch")]
    p = cf.run_cmd(cmd, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"engine_limits: fio exited {p.returncode} on {case.key}:\n{p.stderr.strip()}")
    with open(out) as f:
        r, _ = cf.parse_fio(f.read())
    r["command"] = cmd
    return r


def run_iobench_case(args, case: LimitCase, target: cf.TargetSpec, seed: int) -> dict:
    cmd = [args.iobench, "run", "--target", target.path, "--size", cf.fmt_size(args.size), "--bs", "4k",
           "--rw", "randread", "--numjobs", "1", "--ramp-time", f"{args.ramp_time}ms", "--runtime", f"{args.runtime}ms",
           "--format", "json", "--no-progress", "--seed", str(seed)] + case.iobench
    p = cf.run_cmd(cmd, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"engine_limits: iobench exited {p.returncode} on {case.key}:\n{' '.join(cmd)}\n{p.stderr.strip()}")
    d = json.loads(p.stdout)
    c = d["cases"][0]
    if c.get("status") != "ok":
        raise SystemExit(f"engine_limits: iobench case {c.get('id')} is {c.get('status')}: {c.get('reason')}")
    return {"iops": c["iops"], "ios": c["ios"], "cpu_us_per_io": c["cpu"]["per_io_ns"] / 1000.0,
            "clock": d.get("clock"), "ring": c.get("ring"), "case_id": c["id"], "command": cmd}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iobench", default=cf.DEFAULT_IOBENCH)
    p.add_argument("--micro", default=os.path.join(os.path.dirname(cf.DEFAULT_IOBENCH), "iobench-micro"))
    p.add_argument("--fio", default=shutil.which("fio"))
    p.add_argument("--fio-src", default=os.environ.get("FIO_SRC"), help="fio's source tree (default $FIO_SRC)")
    p.add_argument("--t-io-uring", help="a built t/io_uring (default: FIO_SRC/t/io_uring, built when missing)")
    p.add_argument("--cases", default=",".join(CASE_BY_KEY), help="comma-separated, from: " + ", ".join(CASE_BY_KEY))
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5, at least 5 for the goals)")
    p.add_argument("--runtime", type=cf.parse_duration_ms, default=2000, help="iobench and fio measured time (default 2s)")
    p.add_argument("--ramp-time", type=cf.parse_duration_ms, default=300)
    p.add_argument("--tio-seconds", type=int, default=3, help="t/io_uring -r (its first second is dropped; default 3)")
    p.add_argument("--size", type=cf.parse_size, default=256 << 20)
    p.add_argument("--shm-path", default="/dev/shm/iobench-engine-limits.dat")
    p.add_argument("--results", default=cf.DEFAULT_RESULTS)
    args = p.parse_args()
    for name, path in [("--iobench", args.iobench), ("--fio", args.fio)]:
        if not path or not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"engine_limits: {name} {path} is not an executable file (make release; apt-get install fio)", file=sys.stderr)
            return 2
    unknown = [k for k in args.cases.split(",") if k not in CASE_BY_KEY]
    if unknown:
        print(f"engine_limits: unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASE_BY_KEY)}", file=sys.stderr)
        return 2
    cases = [CASE_BY_KEY[k] for k in args.cases.split(",")]
    tio = find_t_io_uring(args) if any(c.ref_tool == "t/io_uring" for c in cases) else None
    signal.signal(signal.SIGTERM, lambda signo, frame: sys.exit(128 + signo))
    target = cf.TargetSpec("shm", args.shm_path, "file on tmpfs")
    existed = os.path.exists(target.path)
    cf.prepare_target(argparse.Namespace(iobench=args.iobench, size=args.size), target)
    data = {c.key: {"iobench": [], "ref": []} for c in cases}
    tio_runs: dict[str, list] = {}
    tmp = tempfile.mkdtemp(prefix="iobench-limits-")
    micro = []
    try:
        for rnd in range(args.rounds):
            for ci, case in enumerate(cases):
                seed = cf.run_seed(rnd, "shm", case.key)
                order = ["iobench", "ref"] if (rnd + ci) % 2 == 0 else ["ref", "iobench"]
                for tool in order:
                    if tool == "iobench":
                        data[case.key]["iobench"].append(run_iobench_case(args, case, target, seed))
                    elif case.ref_tool == "t/io_uring":
                        # One t/io_uring run serves the cases that share its arguments in a round.
                        key = " ".join(case.ref_args)
                        runs = tio_runs.setdefault(key, [])
                        if len(runs) <= rnd:
                            before = os.times()
                            r = run_t_io_uring(tio, case, target.path, args.tio_seconds)
                            r["cpu_us_per_io"] = cpu_of_children_since(before) * 1e6 / max(1.0, r["ops"])
                            runs.append(r)
                        data[case.key]["ref"].append(runs[rnd])
                    else:
                        data[case.key]["ref"].append(run_fio_case(args, case, target, seed, tmp))
            if os.access(args.micro, os.X_OK):
                micro.append(ab.run_micro(args.micro))
            cf.log(f"  round {rnd + 1}/{args.rounds} done")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not existed and os.path.exists(target.path):
            os.unlink(target.path)

    lines = [f"iobench {args.iobench}; t/io_uring {tio or '–'}; fio {args.fio}",
             f"{args.rounds} interleaved rounds; iobench/fio {args.runtime} ms after {args.ramp_time} ms, t/io_uring "
             f"-r{args.tio_seconds} (first second dropped); {args.shm_path} (tmpfs), 4 KiB random, 1 job",
             "", "| case | reference | iobench IOPS median [range] | reference IOPS median [range] | "
             "ratio (geo. mean) [95%] | CPU µs/op iobench / ref | goal | met |", "|---|---|---|---|---|---|---|---|"]
    summary = {}
    for case in cases:
        d = data[case.key]
        io, ref = d["iobench"], d["ref"]
        ratio = ab.ratio_interval([math.log(i["iops"] / r["iops"]) for i, r in zip(io, ref)])
        ref_name = ("t/io_uring " + " ".join(case.ref_args)) if case.ref_tool == "t/io_uring" else f"fio {case.fio_case.engine}"
        ii = [r["iops"] for r in io]
        rr = [r["iops"] for r in ref]
        met = "yes" if ratio[1] >= case.goal else ("no" if ratio[2] < case.goal else "unclear (interval spans the goal)")
        row = {"iobench_iops": {"median": statistics.median(ii), "min": min(ii), "max": max(ii)},
               "ref_iops": {"median": statistics.median(rr), "min": min(rr), "max": max(rr)},
               "ratio": ratio, "goal": case.goal, "met": met,
               "cpu_us_iobench_median": statistics.median(r["cpu_us_per_io"] for r in io),
               "cpu_us_ref_median": statistics.median(r["cpu_us_per_io"] for r in ref)}
        summary[case.key] = row
        lines.append(f"| {case.label} | {ref_name} | {cf.fmt_iops(row['iobench_iops']['median'])} "
                     f"[{cf.fmt_iops(min(ii))}–{cf.fmt_iops(max(ii))}] | {cf.fmt_iops(row['ref_iops']['median'])} "
                     f"[{cf.fmt_iops(min(rr))}–{cf.fmt_iops(max(rr))}] | ×{ratio[0]:.3f} [{ratio[1]:.3f}–{ratio[2]:.3f}] | "
                     f"{row['cpu_us_iobench_median']:.3f} / {row['cpu_us_ref_median']:.3f} | {case.goal_text} | {met} |")
    if micro:
        lines += ["", f"iobench-micro, {len(micro)} runs (one per round): median [range] ns/op", ""]
        summary["micro"] = {}
        for name in micro[0]:
            vals = [m[name] for m in micro if name in m]
            summary["micro"][name] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
            lines.append(f"- {name}: {statistics.median(vals):.2f} [{min(vals):.2f}–{max(vals):.2f}]")
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.results, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = os.path.join(args.results, f"engine-limits-{stamp}.json")
    with open(out, "w") as f:
        json.dump({"iobench": args.iobench, "t_io_uring": tio, "fio": args.fio, "rounds": args.rounds,
                   "runtime_ms": args.runtime, "ramp_ms": args.ramp_time, "tio_seconds": args.tio_seconds,
                   "target": args.shm_path, "git": cf.git_state(), "cpu": cf.cpu_model(), "loadavg": cf.loadavg(),
                   "summary": summary, "runs": data, "micro_runs": micro, "table": text}, f, indent=1)
    cf.log(f"engine_limits: saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
