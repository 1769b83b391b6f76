#!/usr/bin/env python3
"""Real drift against the paired class comparison.

The claim (docs/method.md, "Comparing path classes"): drift of the disk that slows a
round slows both sides of that round's pairs and cancels in the paired Δ, while the
unpaired Δ of the merged histograms (what a report without rounds shows) moves with it.

Each trial runs `iobench run --class simple,single-extent:8k,multi-extent:8k --repeat R`
on one fragmented file on the disk while the disk is throttled (cgroup v1
blkio.throttle.read_bps_device, --throttle bytes/s) for about one round, from --at of
the way through the run. A bandwidth throttle slows reads of one size alike, so it hits
both sides of the multi-extent vs single-extent pair (both 8 KiB): the drift the paired
design claims to cancel. Within that one run, for p50, p99 and CPU per read, it compares
each estimator with itself without the drifted round (found as the round in which the
single-extent case's IOPS fell most):
  paired    mean over rounds of (multi − single) in the same round (what iobench reports)
  unpaired  the difference of the two cases' merged histograms (what a report without
            rounds shows), CPU as total CPU time over total reads
and reports how far the drifted round moved each, and whether the paired estimate
without it lies inside the paired 95% interval with it.

Needs root (the blkio cgroup). Writes benchmarks/results/class-drift-<UTC timestamp>.json.

Usage: python3 benchmarks/class_drift.py [--trials 5] [--rounds 5] [--throttle 8388608]
                                         [--dir DIR] [--binary .build/release/iobench]
"""
import argparse, datetime, json, math, os, platform, statistics, subprocess, sys, threading, time

from hdrh.histogram import HdrHistogram

BLKIO = "/sys/fs/cgroup/blkio"
CLASSES = "simple,single-extent:8k,multi-extent:8k"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def disk_of(path):
    """MAJ:MIN of the whole disk holding `path` (the throttle applies per disk)."""
    st = os.stat(path)
    sys_dev = os.path.realpath(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
    if os.path.exists(sys_dev + "/partition"):
        with open(os.path.dirname(sys_dev) + "/dev") as f:
            return f.read().strip()
    return f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"


class Throttle:
    def __init__(self, disk):
        if not os.path.exists(BLKIO + "/blkio.throttle.read_iops_device"):
            raise SystemExit(f"class_drift.py: cgroup v1 blkio with throttling is not mounted at {BLKIO}")
        self.disk = disk
        self.path = f"{BLKIO}/iobench-drift-{os.getpid()}"
        os.makedirs(self.path, exist_ok=True)

    def set(self, bps):
        with open(self.path + "/blkio.throttle.read_bps_device", "w") as f:
            f.write(f"{self.disk} {int(bps)}\n")

    def remove(self):
        try:
            self.set(0)
        except OSError:
            pass
        try:
            os.rmdir(self.path)
        except OSError as e:
            log(f"class_drift.py: could not remove {self.path}: {e}")


def run(binary, target, rounds, out, throttle=None, window=None):
    cmd = [binary, "run", "--target", target, "--class", CLASSES, "--engine", "psync",
           "--repeat", str(rounds), "--runtime", "400ms", "--ramp-time", "100ms", "--no-progress",
           "--format", "json", "-o", out]
    if throttle is None:
        p = subprocess.run(cmd, capture_output=True, text=True)
    else:
        shell = f"echo $$ > {throttle.path}/cgroup.procs && exec " + " ".join(f"'{c}'" for c in cmd)
        proc = subprocess.Popen(["/bin/sh", "-c", shell], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        start, stop, iops = window

        def drift():
            time.sleep(start)
            throttle.set(iops)
            time.sleep(stop - start)
            throttle.set(0)
        t = threading.Thread(target=drift)
        t.start()
        o, e = proc.communicate()
        t.join()
        p = subprocess.CompletedProcess(cmd, proc.returncode, o, e)
    if p.returncode != 0:
        raise SystemExit(f"class_drift.py: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    with open(out) as f:
        return json.load(f)


T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def case(doc, cls):
    return next(c for c in doc["cases"] if c["config"].get("class") == cls)


def hist(rep):
    return HdrHistogram.decode(rep["histogram"]["data"])


def per_round(c, metric):
    out = {}
    for r in c["repeats"]:
        if metric == "cpu_per_io_ns":
            out[r["index"]] = r["cpu"]["per_io_ns"]
        else:
            out[r["index"]] = hist(r).get_value_at_percentile(50 if metric == "p50_ns" else 99)
    return out


def unpaired(x, y, metric, rounds):
    if metric == "cpu_per_io_ns":
        def cpu(c):
            reps = [r for r in c["repeats"] if r["index"] in rounds]
            return sum(r["cpu"]["per_io_ns"] * r["ios"] for r in reps) / sum(r["ios"] for r in reps)
        return cpu(x) - cpu(y)
    q = 50 if metric == "p50_ns" else 99

    def merged(c):
        h = None
        for r in c["repeats"]:
            if r["index"] in rounds:
                if h is None:
                    h = hist(r)
                else:
                    h.add(hist(r))
        return h.get_value_at_percentile(q)
    return merged(x) - merged(y)


def analyse(doc):
    x, y = case(doc, "multi-extent"), case(doc, "single-extent")
    iops = {r["index"]: r["iops"] for r in y["repeats"]}
    med = statistics.median(iops.values())
    k = min(iops, key=lambda i: iops[i] / med)
    rec = {"drifted_round": k, "single_extent_iops_ratio_in_it": round(iops[k] / med, 3)}
    allr = sorted(iops)
    rest = [i for i in allr if i != k]
    for m in ["p50_ns", "p99_ns", "cpu_per_io_ns"]:
        xv, yv = per_round(x, m), per_round(y, m)
        d = [xv[i] - yv[i] for i in allr]
        mean_all = sum(d) / len(d)
        se = statistics.stdev(d) / math.sqrt(len(d))
        half = T975[len(d) - 1] * se
        mean_wo = sum(xv[i] - yv[i] for i in rest) / len(rest)
        u_all, u_wo = unpaired(x, y, m, set(allr)), unpaired(x, y, m, set(rest))
        rec[m] = {"paired": mean_all, "paired_interval": [mean_all - half, mean_all + half], "paired_without_drift": mean_wo,
                  "unpaired": u_all, "unpaired_without_drift": u_wo,
                  "paired_moved": abs(mean_all - mean_wo), "unpaired_moved": abs(u_all - u_wo),
                  "without_drift_inside_interval": mean_all - half <= mean_wo <= mean_all + half}
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--throttle", type=int, default=8 << 20, help="read bytes/s of the disk during the drift")
    ap.add_argument("--at", type=float, default=0.4, help="the drift starts this fraction into the run")
    ap.add_argument("--dir", default=os.environ.get("IOBENCH_DIR", "/tmp"))
    ap.add_argument("--binary", default=".build/release/iobench")
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("class_drift.py needs root (a blkio cgroup makes the drift)", file=sys.stderr)
        return 2
    target = os.path.join(a.dir, "iobench-drift-frag.dat")
    if not os.path.exists(target):
        subprocess.run([a.binary, "prepare", target, "--size", "128m", "--layout", "fragmented:16k"], check=True,
                       capture_output=True)
    throttle = Throttle(disk_of(target))
    out = f"/tmp/iobench-drift-{os.getpid()}.json"
    trials = []
    try:
        # The run's length, to place the drift on about one round.
        t0 = time.monotonic()
        run(a.binary, target, a.rounds, out)
        length = time.monotonic() - t0
        rnd = (length - 0.3) / a.rounds
        window = (0.3 + a.at * (length - 0.3), 0.3 + a.at * (length - 0.3) + rnd, a.throttle)
        for i in range(a.trials):
            rec = {"trial": i + 1, "drift_window_s": [round(window[0], 2), round(window[1], 2)]}
            rec.update(analyse(run(a.binary, target, a.rounds, out, throttle, window)))
            trials.append(rec)
            log(f"trial {i + 1}: drifted round {rec['drifted_round']} (single-extent IOPS x{rec['single_extent_iops_ratio_in_it']}); "
                + "; ".join(f"{m}: paired moved {rec[m]['paired_moved'] / 1e3:.1f} µs, unpaired {rec[m]['unpaired_moved'] / 1e3:.1f} µs"
                            for m in ["p50_ns", "p99_ns", "cpu_per_io_ns"]))
    finally:
        throttle.remove()
        try:
            os.remove(out)
        except OSError:
            pass
    summary = {}
    for m in ["p50_ns", "p99_ns", "cpu_per_io_ns"]:
        summary[m] = {
            "median_paired_moved_ns": statistics.median(t[m]["paired_moved"] for t in trials),
            "median_unpaired_moved_ns": statistics.median(t[m]["unpaired_moved"] for t in trials),
            "trials_paired_moved_less": sum(t[m]["paired_moved"] < t[m]["unpaired_moved"] for t in trials),
            "trials_without_drift_inside_paired_interval": sum(t[m]["without_drift_inside_interval"] for t in trials),
            "trials": len(trials),
        }
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    doc = {"benchmark": "class_drift", "host": platform.node(), "kernel": platform.release(), "utc": stamp,
           "settings": {"classes": CLASSES, "engine": "psync", "rounds": a.rounds, "runtime": "400ms", "ramp": "100ms",
                        "throttle_read_bps": a.throttle, "at": a.at, "target": target},
           "trials": trials, "summary": summary}
    os.makedirs(a.out_dir, exist_ok=True)
    path = os.path.join(a.out_dir, f"class-drift-{stamp}.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    log(f"class_drift.py: wrote {path}")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
