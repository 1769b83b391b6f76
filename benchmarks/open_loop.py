#!/usr/bin/env python3
"""Issue 14's checks of the open loop, on this machine, with their figures.

1. Rate accuracy: psync on a tmpfs file at 20k reads/s (uniform and Poisson) and
   io_uring QD32 on the scratch disk at 5k/s, 3 runs each: achieved rate against the
   asked one (goal: within 1%), and the issue lag (goal: p99 under 20 µs), with the
   host's steal time and the job's involuntary context switches during each run.
2. Coordinated omission: psync on tmpfs at 5k/s for 3 s, the process stopped (SIGSTOP)
   for 500 ms in the middle; the same under a closed loop. Counts of reads above 1 ms
   in the response and service times, p99s, maxima.
3. A blkio throttle below the asked rate (root, cgroup v1 blkio): psync on the disk at
   1000/s with reads limited to 500/s: the backlog per second, response p99, saturated.
4. The curve: psync QD1 and io_uring QD32 on the scratch disk, --load 10%..100% (six
   points) and 110%, 125%, 3 rounds each: response p50/p99/p99.9 against achieved IOPS,
   saturated points, whether p99 rises with the load; the SVG from `--plot`.

Everything goes to benchmarks/results/open-loop-<UTC>.json, the plot to
benchmarks/results/open-loop-<UTC>/latency-load.svg. About 6 minutes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_fio as cf  # noqa: E402
import gate_calibration as gc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def steal_jiffies() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) if len(fields) > 8 else 0


def pct(summary: dict, p: float) -> int:
    for x in summary["percentiles"]:
        if x["percentile"] == p:
            return x["value_ns"]
    return 0


def run_json(cmd: list[str], timeout: float = 600) -> dict:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise SystemExit(f"open_loop: {' '.join(cmd)} failed (exit {p.returncode}):\n{p.stderr.strip()}")
    return json.loads(p.stdout)


def hist_above(case_hist: dict, ns: int) -> int | None:
    """Reads above `ns` in an encoded histogram (the `hdrhistogram` package; None without it)."""
    try:
        from hdrh.histogram import HdrHistogram  # type: ignore
    except ImportError:
        return None
    h = HdrHistogram.decode(case_hist["data"])
    return sum(it.count_at_value_iterated_to for it in h.get_recorded_iterator() if it.value_iterated_to > ns)


def rate_accuracy(args, shm: str, disk: str) -> list[dict]:
    rows = []
    specs = [("psync QD1 20k/s uniform", shm, ["--engine", "psync", "--rate-iops", "20k"]),
             ("psync QD1 20k/s poisson", shm, ["--engine", "psync", "--rate-iops", "20k", "--arrival", "poisson"]),
             ("io_uring QD32 5k/s uniform (disk)", disk, ["--engine", "io_uring", "--iodepth", "32", "--rate-iops", "5k"])]
    for label, target, extra in specs:
        for i in range(args.runs):
            s0 = steal_jiffies()
            d = run_json([args.iobench, "run", "--target", target, "--runtime", "3s", "--ramp-time", "200ms",
                          "--format", "json", "--no-progress"] + extra)
            steal_ms = (steal_jiffies() - s0) * 1000 / os.sysconf("SC_CLK_TCK")
            c = d["cases"][0]
            o = c["open_loop"]
            lag = o["issue_lag"]
            row = {"case": label, "run": i + 1, "asked_iops": o["asked_iops"], "achieved_iops": o["achieved_iops"],
                   "achieved_fraction": o["achieved_fraction"], "arrivals": o["arrivals"],
                   "lag_p50_ns": pct(lag, 50), "lag_p90_ns": pct(lag, 90), "lag_p99_ns": pct(lag, 99),
                   "lag_p999_ns": pct(lag, 99.9), "lag_max_ns": lag["max_ns"],
                   "involuntary_switches": c["cpu"]["involuntary_switches"], "steal_ms_all_cpus": steal_ms,
                   "cpu_us_per_read": c["cpu"]["per_io_ns"] / 1000, "saturated": o["saturated"]}
            rows.append(row)
            cf.log(f"  {label} run {i + 1}: achieved {row['achieved_fraction']:.4f}, lag p50/p90/p99/p99.9 "
                   f"{row['lag_p50_ns'] / 1e3:.1f}/{row['lag_p90_ns'] / 1e3:.1f}/{row['lag_p99_ns'] / 1e3:.1f}/"
                   f"{row['lag_p999_ns'] / 1e3:.1f} µs, steal {steal_ms:.0f} ms, {row['involuntary_switches']} preemptions")
    return rows


def stalled(args, shm: str, extra: list[str]) -> dict:
    cmd = [args.iobench, "run", "--target", shm, "--engine", "psync", "--runtime", "3s", "--ramp-time", "0",
           "--format", "json", "--no-progress"] + extra
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.2)
    p.send_signal(signal.SIGSTOP)
    time.sleep(0.5)
    p.send_signal(signal.SIGCONT)
    out, err = p.communicate(timeout=60)
    if p.returncode != 0:
        raise SystemExit(f"open_loop: stalled run failed: {err}")
    return json.loads(out)["cases"][0]


def coordinated_omission(args, shm: str) -> dict:
    o = stalled(args, shm, ["--rate-iops", "5k"])
    c = stalled(args, shm, [])
    ol = o["open_loop"]
    res = {"open": {"reads": o["ios"], "response_p50_ns": pct(ol["response_time"], 50),
                    "response_p99_ns": pct(ol["response_time"], 99), "response_max_ns": ol["response_time"]["max_ns"],
                    "service_p99_ns": pct(o["latency"], 99), "service_max_ns": o["latency"]["max_ns"],
                    "response_above_1ms": hist_above(ol["response_time_histogram"], 1_000_000),
                    "service_above_1ms": hist_above(o["histogram"], 1_000_000), "saturated": ol["saturated"]},
           "closed": {"reads": c["ios"], "iops": c["iops"], "p50_ns": pct(c["latency"], 50), "p99_ns": pct(c["latency"], 99),
                      "max_ns": c["latency"]["max_ns"], "above_1ms": hist_above(c["histogram"], 1_000_000)}}
    cf.log(f"  stall, open loop: response p99 {res['open']['response_p99_ns'] / 1e6:.1f} ms, max "
           f"{res['open']['response_max_ns'] / 1e6:.1f} ms, above 1 ms {res['open']['response_above_1ms']}; service p99 "
           f"{res['open']['service_p99_ns'] / 1e3:.1f} µs, above 1 ms {res['open']['service_above_1ms']}")
    cf.log(f"  stall, closed loop: p99 {res['closed']['p99_ns'] / 1e3:.1f} µs, max {res['closed']['max_ns'] / 1e6:.1f} ms, "
           f"above 1 ms {res['closed']['above_1ms']} of {res['closed']['reads']}")
    return res


def throttled(args, disk: str) -> dict:
    if os.geteuid() != 0 or not os.path.exists(gc.BLKIO + "/blkio.throttle.read_iops_device"):
        return {"skipped": "needs root and cgroup v1 blkio throttling"}
    t = gc.Throttle(gc.disk_of(disk))
    try:
        t.set(500)
        cmd = [args.iobench, "run", "--target", disk, "--engine", "psync", "--rate-iops", "1000", "--runtime", "4s",
               "--ramp-time", "0", "--format", "json", "--no-progress"]
        shell = f"echo $$ > {t.path}/cgroup.procs && exec " + " ".join(f"'{c}'" for c in cmd)
        p = subprocess.run(["/bin/sh", "-c", shell], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise SystemExit(f"open_loop: throttled run failed: {p.stderr}")
        c = json.loads(p.stdout)["cases"][0]
    finally:
        t.remove()
    ol = c["open_loop"]
    res = {"read_iops_limit": 500, "asked_iops": ol["asked_iops"], "achieved_iops": ol["achieved_iops"],
           "saturated": ol["saturated"], "saturated_reason": ol.get("saturated_reason"),
           "backlog_timeline_ms": [x / 1e6 for x in ol["backlog_timeline_ns"]],
           "backlog_at_end_ms": ol["backlog_at_end_ns"] / 1e6, "response_p99_ms": pct(ol["response_time"], 99) / 1e6,
           "service_p99_ms": pct(c["latency"], 99) / 1e6}
    cf.log(f"  throttle 500/s, asked 1000/s: achieved {res['achieved_iops']:.0f}/s, backlog per second "
           f"{', '.join(f'{x:.0f}' for x in res['backlog_timeline_ms'])} ms, saturated {res['saturated']}")
    return res


def curve(args, disk: str, plot_dir: str) -> dict:
    # The six points, and two past the peak to show where the curve turns. With
    # --repeat the peak is the mean of the rounds and each point's histogram merges its
    # rounds: the scratch disk's rate drifts by up to 2x between minutes on these VMs.
    loads = "10%,25%,50%,75%,90%,100%,110%,125%"
    cmd = [args.iobench, "run", "--target", disk, "--engine", "psync,io_uring", "--iodepth", "32", "--load", loads,
           "--runtime", args.curve_runtime, "--ramp-time", "300ms", "--repeat", str(args.curve_repeat),
           "--format", "json", "--no-progress", "--plot", plot_dir]
    d = run_json(cmd, timeout=1800)
    curves: dict[str, list[dict]] = {}
    for c in d["cases"]:
        cfg = c["config"]
        key = f"{cfg['engine']} QD{cfg['iodepth']}"
        if "open_loop" not in c:
            curves.setdefault(key, []).append({"peak_iops": c["iops"], "closed_p99_ns": pct(c["latency"], 99)})
            continue
        ol = c["open_loop"]
        curves[key].append({"load_percent": cfg.get("load_percent"), "asked_iops": ol["asked_iops"],
                            "achieved_iops": ol["achieved_iops"], "response_p50_ns": pct(ol["response_time"], 50),
                            "response_p99_ns": pct(ol["response_time"], 99), "response_p999_ns": pct(ol["response_time"], 99.9),
                            "service_p99_ns": pct(c["latency"], 99), "saturated": ol["saturated"]})
    for key, pts in curves.items():
        p99s = [p["response_p99_ns"] for p in pts if "load_percent" in p]
        cf.log(f"  curve {key}: peak {pts[0].get('peak_iops', 0):.0f}; " + "; ".join(
            f"{p['load_percent']:g}% {p['achieved_iops']:.0f}/s p99 {p['response_p99_ns'] / 1e3:.0f} µs"
            + (" SAT" if p["saturated"] else "") for p in pts if "load_percent" in p))
        # Rises with the load, allowing a 20% dip between neighbours (noise).
        pts.append({"p99_rises_within_20pct": all(b >= a * 0.8 for a, b in zip(p99s, p99s[1:]))})
    return {"command": cmd, "curves": curves, "svg": os.path.join(plot_dir, "latency-load.svg")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iobench", default=os.path.join(HERE, "..", ".build", "release", "iobench"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--parts", default="rate,co,throttle,curve",
                    help="comma-separated subset of: rate, co, throttle, curve")
    ap.add_argument("--curve-runtime", default="3s")
    ap.add_argument("--curve-repeat", type=int, default=3)
    ap.add_argument("--disk-path", default=os.path.join(os.environ.get("IOBENCH_DIR", tempfile.gettempdir()), "iobench.dat"))
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    if not os.access(args.iobench, os.X_OK):
        raise SystemExit(f"open_loop: {args.iobench} not found; build it with `swift build -c release`")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    shm = f"/dev/shm/iobench-open-loop-{os.getpid()}.dat"
    plot_dir = os.path.join(args.results_dir, f"open-loop-{stamp}")
    out = {"schema": "iobench/open-loop-bench", "schema_version": 1, "started": stamp, "git": cf.git_state(),
           "cpu": cf.cpu_model(), "kernel": os.uname().release, "disk_path": args.disk_path}
    try:
        run_json([args.iobench, "run", "--target", shm, "--size", "64m", "--engine", "psync", "--number-ios", "16",
                  "--ramp-time", "0", "--format", "json", "--no-progress"])
        run_json([args.iobench, "run", "--target", args.disk_path, "--engine", "psync", "--number-ios", "16",
                  "--ramp-time", "0", "--format", "json", "--no-progress"])
        parts = set(args.parts.split(","))
        if "rate" in parts:
            cf.log("rate accuracy")
            out["rate_accuracy"] = rate_accuracy(args, shm, args.disk_path)
        if "co" in parts:
            cf.log("coordinated omission (SIGSTOP 500 ms)")
            out["coordinated_omission"] = coordinated_omission(args, shm)
        if "throttle" in parts:
            cf.log("blkio throttle below the asked rate")
            out["throttle"] = throttled(args, args.disk_path)
        if "curve" in parts:
            cf.log("the curve (--load)")
            os.makedirs(plot_dir, exist_ok=True)
            out["curve"] = curve(args, args.disk_path, plot_dir)
    finally:
        if os.path.exists(shm):
            os.unlink(shm)
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, f"open-loop-{stamp}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    # Only the plot is kept from --plot's directory.
    for name in (os.listdir(plot_dir) if os.path.isdir(plot_dir) else []):
        if name != "latency-load.svg":
            os.unlink(os.path.join(plot_dir, name))
    cf.log(f"saved {path} and {plot_dir}/latency-load.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
