#!/usr/bin/env python3
"""What measuring costs: iobench's IOPS and CPU time per read with every read timed,
with 1 commit in 32 timed (--latency-sample 32), and with nothing timed (--no-latency),
on a memory-speed target (/dev/shm) where the tool's own cost is visible. Modes are
interleaved round by round; medians are reported with min-max.

Usage: python3 benchmarks/measurement_cost.py [--rounds 3] [--runtime 2s] [--binary ...]
"""
import argparse, json, os, statistics, subprocess, time

CASES = [
    ("psync QD1", ["--engine", "psync"]),
    ("io_uring QD32", ["--engine", "io_uring", "--iodepth", "32"]),
    ("io_uring QD128 fixed+reg+b32", ["--engine", "io_uring", "--iodepth", "128", "--fixed-buffers",
                                      "--registered-files", "--submit-batch", "32", "--complete-batch", "32"]),
]
MODES = [("every read", []), ("1 in 32", ["--latency-sample", "32"]), ("none", ["--no-latency"])]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/iobench")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runtime", default="2s")
    ap.add_argument("--target", default="/dev/shm/iobench-measurement-cost.dat")
    a = ap.parse_args()
    b = os.path.abspath(a.binary)
    results = {}
    for rnd in range(a.rounds):
        for cname, cargs in CASES:
            for mname, margs in MODES:
                out = subprocess.run([b, "run", "--target", a.target, "--size", "1g", "--runtime", a.runtime,
                                      "--ramp-time", "300ms", "--no-progress", "--format", "json"] + cargs + margs,
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    raise SystemExit(f"iobench failed: {out.stderr.strip()}")
                c = json.loads(out.stdout)["cases"][0]
                results.setdefault((cname, mname), []).append((c["iops"], c["cpu"]["per_io_ns"]))
    print(f"measurement cost on {a.target} (tmpfs), {a.rounds} rounds x {a.runtime}; medians [min-max]")
    print(f"  {'case':<30} {'latency timed':<14} {'IOPS':>16} {'vs every read':>14} {'CPU ns/IO':>10}")
    for cname, _ in CASES:
        base = statistics.median(x[0] for x in results[(cname, MODES[0][0])])
        for mname, _ in MODES:
            xs = results[(cname, mname)]
            iops = [x[0] for x in xs]
            cpu = statistics.median(x[1] for x in xs)
            med = statistics.median(iops)
            print(f"  {cname:<30} {mname:<14} {med/1000:8.1f}k [{min(iops)/1000:.0f}-{max(iops)/1000:.0f}k] {med/base:13.2f}x {cpu:10.0f}")
    os.remove(a.target)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                        "measurement-cost-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + ".json")
    with open(path, "w") as f:
        json.dump({f"{k[0]} / {k[1]}": v for k, v in results.items()}, f, indent=2)
    print("saved", path)

if __name__ == "__main__":
    main()
