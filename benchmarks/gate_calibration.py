#!/usr/bin/env python3
"""Calibrates the regression gate (`iobench compare`) on this machine, for real.

A/A: pairs of identical runs, compared. Every exit 1 is a false alarm; the estimated
changes are the drift between runs plus sampling noise.
A/B: real slowdowns, made with the cgroup v1 blkio throttle
(`blkio.throttle.read_iops_device`) on the disk under the target, at fractions of the
base IOPS; the detection rate per size.

Two designs, as docs/ci.md describes them:
- unpaired: the recommended CI recipe (`--repeat 5`), baseline run then candidate run;
- paired: rounds alternating base and candidate runs, merged, `compare --paired`.

Results (every compare JSON, the commands, the machine, the summary) go to
benchmarks/results/gate-calibration-<UTC timestamp>.json; the tables go to stdout.
Needs root (the blkio cgroup). See benchmarks/README.md.
"""
import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RECIPE = ["--engine", "io_uring", "--iodepth", "1,32", "--repeat", "5", "--runtime", "1s",
          "--ramp-time", "200ms", "--no-progress"]
PAIRED_ROUND = ["--engine", "io_uring", "--iodepth", "32", "--runtime", "1s", "--ramp-time", "200ms",
                "--no-progress"]
# Threshold sets under test. "default": compare's defaults. "unpaired": docs/ci.md's values
# for the development VM's drift. "paired": tighter, for the paired design.
THRESHOLDS = {
    "default": [],
    "unpaired": ["iops=-20%", "mean=+20%", "p50=+20%", "p99=+25%", "p99.9=+40%", "cpu=+20%"],
    "paired": ["iops=-10%", "mean=+10%", "p50=+10%", "p99=+15%", "p99.9=+25%", "cpu=+10%"],
}
BLKIO = "/sys/fs/cgroup/blkio"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Throttle:
    """A cgroup v1 blkio group that limits reads of one disk to N IOPS for its members."""

    def __init__(self, disk):
        self.disk = disk
        self.path = f"{BLKIO}/iobench-gate-{os.getpid()}"
        if not os.path.exists(BLKIO + "/blkio.throttle.read_iops_device"):
            raise SystemExit(f"cgroup v1 blkio with throttling is not mounted at {BLKIO}")
        os.makedirs(self.path, exist_ok=True)

    def set(self, iops):
        with open(self.path + "/blkio.throttle.read_iops_device", "w") as f:
            f.write(f"{self.disk} {int(iops)}\n")

    def clear(self):
        try:
            self.set(0)
        except OSError:
            pass

    def remove(self):
        self.clear()
        try:
            os.rmdir(self.path)
        except OSError as e:
            log(f"gate_calibration: could not remove {self.path}: {e}")


def disk_of(path):
    """MAJ:MIN of the whole disk holding `path` (the throttle applies per disk)."""
    st = os.stat(path)
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    sys_dev = os.path.realpath(f"/sys/dev/block/{major}:{minor}")
    if os.path.exists(sys_dev + "/partition"):
        with open(os.path.dirname(sys_dev) + "/dev") as f:
            return f.read().strip()
    return f"{major}:{minor}"


class Bench:
    def __init__(self, args):
        self.iobench = args.iobench
        self.target = args.target
        self.work = tempfile.mkdtemp(prefix="iobench-gate-")
        self.runs = 0
        self.throttle = None

    def run(self, argv, output, cgroup_iops=None):
        cmd = [self.iobench, "run", "--target", self.target] + argv + ["--output", output]
        if cgroup_iops:
            self.throttle.set(cgroup_iops)
            shell = f"echo $$ > {self.throttle.path}/cgroup.procs && exec " + " ".join(f"'{c}'" for c in cmd)
            p = subprocess.run(["sh", "-c", shell], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            self.throttle.clear()
        else:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.runs += 1
        if p.returncode != 0:
            raise SystemExit(f"run failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
        return json.load(open(output))

    def compare(self, base, new, thresholds, paired=False):
        out = os.path.join(self.work, f"cmp-{time.monotonic_ns()}.json")
        cmd = [self.iobench, "compare", base, new, "--output", out]
        cmd += [a for t in thresholds for a in ("--threshold", t)]
        if paired:
            cmd.append("--paired")
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(f"compare failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
        doc = json.load(open(out))
        return p.returncode, doc

    def merge(self, files, out):
        p = subprocess.run([self.iobench, "merge", *files, "-o", out], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise SystemExit(f"merge failed: {p.stderr}")
        return out


def iops_of(result, case_id=None):
    for c in result["cases"]:
        if c["status"] == "ok" and (case_id is None or c["id"] == case_id):
            return c["iops"]
    raise SystemExit("no ok case in a result")


def metric_rows(doc):
    """(case id, metric, change %, verdict) of every judged metric."""
    rows = []
    for c in doc["cases"]:
        for m in c.get("metrics", []):
            rows.append((c["id"], m["metric"], m.get("change_percent"), m["verdict"]))
    return rows


def aa_unpaired(b, pairs):
    log(f"A/A unpaired: {pairs} pairs of the recipe ({' '.join(RECIPE)})")
    trials = []
    for i in range(pairs):
        a1, a2 = os.path.join(b.work, f"aa-{i}-1.json"), os.path.join(b.work, f"aa-{i}-2.json")
        b.run(RECIPE, a1)
        b.run(RECIPE, a2)
        trial = {"pair": i}
        for name in ("default", "unpaired"):
            code, doc = b.compare(a1, a2, THRESHOLDS[name])
            trial[name] = {"exit": code, "metrics": metric_rows(doc), "rule": doc.get("rule")}
        trials.append(trial)
        log(f"  pair {i + 1}/{pairs}: exit default={trial['default']['exit']} unpaired={trial['unpaired']['exit']}")
    return trials


def paired_trial(b, tag, rounds, throttle_fraction=None):
    """`rounds` rounds of base then candidate; the candidate throttled at fraction × the
    base round's IOPS when given. Returns the merged base and new files."""
    bases, news = [], []
    for r in range(rounds):
        bf, nf = os.path.join(b.work, f"{tag}-b{r}.json"), os.path.join(b.work, f"{tag}-n{r}.json")
        base = b.run(PAIRED_ROUND, bf)
        limit = iops_of(base) * throttle_fraction if throttle_fraction else None
        b.run(PAIRED_ROUND, nf, cgroup_iops=limit)
        bases.append(bf)
        news.append(nf)
    return (b.merge(bases, os.path.join(b.work, f"{tag}-base.json")),
            b.merge(news, os.path.join(b.work, f"{tag}-new.json")))


def aa_paired(b, trials, rounds):
    log(f"A/A paired: {trials} trials of {rounds} alternating rounds ({' '.join(PAIRED_ROUND)})")
    out = []
    for i in range(trials):
        base, new = paired_trial(b, f"aap-{i}", rounds)
        t = {"trial": i}
        for name in ("default", "paired"):
            code, doc = b.compare(base, new, THRESHOLDS[name], paired=True)
            t[name] = {"exit": code, "metrics": metric_rows(doc), "rule": doc.get("rule")}
        out.append(t)
        log(f"  trial {i + 1}/{trials}: exit default={t['default']['exit']} paired={t['paired']['exit']}")
    return out


def ab_paired(b, fractions, trials, rounds):
    log(f"A/B paired: throttle at {fractions} of the base IOPS, {trials} trials each")
    out = []
    for f in fractions:
        for i in range(trials):
            base, new = paired_trial(b, f"abp-{f}-{i}", rounds, throttle_fraction=f)
            code, doc = b.compare(base, new, THRESHOLDS["paired"], paired=True)
            rows = metric_rows(doc)
            iops = next((r for r in rows if r[1] == "iops"), None)
            out.append({"fraction": f, "trial": i, "exit": code, "metrics": rows, "iops_verdict": iops[3] if iops else None,
                        "iops_change_percent": iops[2] if iops else None})
            log(f"  {f:.0%} trial {i + 1}/{trials}: exit {code}, iops {iops[2] if iops else '?'}% {iops[3] if iops else ''}")
    return out


def ab_unpaired(b, fractions, trials):
    """The recipe as a CI job runs it: baseline, then a throttled candidate. The throttle is
    set at fraction × the baseline's QD32 IOPS, so the QD32 case is the one slowed."""
    log(f"A/B unpaired: the recipe, throttle at {fractions} of the base QD32 IOPS, {trials} trials each")
    out = []
    qd32 = "io_uring-randread-bs4k-qd32-j1"
    for f in fractions:
        for i in range(trials):
            bf, nf = os.path.join(b.work, f"abu-{f}-{i}-b.json"), os.path.join(b.work, f"abu-{f}-{i}-n.json")
            base = b.run(RECIPE, bf)
            b.run(RECIPE, nf, cgroup_iops=iops_of(base, qd32) * f)
            code, doc = b.compare(bf, nf, THRESHOLDS["unpaired"])
            rows = metric_rows(doc)
            iops = next((r for r in rows if r[0] == qd32 and r[1] == "iops"), None)
            out.append({"fraction": f, "trial": i, "exit": code, "metrics": rows,
                        "iops_verdict": iops[3] if iops else None, "iops_change_percent": iops[2] if iops else None})
            log(f"  {f:.0%} trial {i + 1}/{trials}: exit {code}, QD32 iops {iops[2] if iops else '?'}% {iops[3] if iops else ''}")
    return out


def drift_table(trials, key):
    """Per metric: |change %| median, 90th percentile, max over all pairs and cases."""
    by = {}
    for t in trials:
        for case, metric, change, verdict in t[key]["metrics"]:
            if change is not None:
                by.setdefault(metric, []).append(abs(change))
    rows = []
    for metric, v in by.items():
        v.sort()
        rows.append((metric, len(v), statistics.median(v), v[min(len(v) - 1, int(0.9 * len(v)))], v[-1]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iobench", default=os.path.join(ROOT, ".build/release/iobench"))
    ap.add_argument("--target", default=os.path.join(os.environ.get("IOBENCH_DIR", tempfile.gettempdir()), "iobench.dat"))
    ap.add_argument("--pairs", type=int, default=20, help="A/A pairs (unpaired) and A/A paired trials")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per paired trial")
    ap.add_argument("--ab-trials", type=int, default=5, help="A/B trials per slowdown size")
    ap.add_argument("--fractions", default="0.9,0.8,0.7,0.5", help="throttle at these fractions of the base IOPS")
    ap.add_argument("--only", default="aa-unpaired,aa-paired,ab-paired,ab-unpaired")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("gate_calibration.py needs root (a blkio cgroup throttles the candidate runs)")
    if not os.path.exists(args.iobench):
        raise SystemExit(f"{args.iobench} not found; run 'swift build -c release' (or make release) first")
    b = Bench(args)
    if not os.path.exists(args.target):
        log(f"creating {args.target}")
        subprocess.run([args.iobench, "run", "--target", args.target, "--engine", "psync", "--number-ios", "10",
                        "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    b.throttle = Throttle(disk_of(args.target))
    fractions = [float(x) for x in args.fractions.split(",")]
    only = set(args.only.split(","))
    started = time.time()
    res = {"schema": "iobench/bench-gate-calibration", "schema_version": 1,
           "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": {"kernel": platform.release(), "cpus": os.cpu_count(), "host": platform.node()},
           "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
           "command": sys.argv, "target": args.target, "disk": b.throttle.disk,
           "recipe": RECIPE, "paired_round": PAIRED_ROUND, "thresholds": THRESHOLDS}
    try:
        if "aa-unpaired" in only:
            res["aa_unpaired"] = aa_unpaired(b, args.pairs)
        if "aa-paired" in only:
            res["aa_paired"] = aa_paired(b, args.pairs, args.rounds)
        if "ab-paired" in only:
            res["ab_paired"] = ab_paired(b, fractions, args.ab_trials, args.rounds)
        if "ab-unpaired" in only:
            res["ab_unpaired"] = ab_unpaired(b, fractions, args.ab_trials)
    finally:
        b.throttle.remove()
        shutil.rmtree(b.work, ignore_errors=True)
    res["runs"] = b.runs
    res["seconds"] = round(time.time() - started, 1)

    out = []
    out.append(f"# Gate calibration ({res['started_at']}, {b.runs} runs, {res['seconds']:.0f} s, commit {res['commit'][:10]})\n")
    for key, design, sets in (("aa_unpaired", "unpaired (recipe)", ("default", "unpaired")),
                              ("aa_paired", "paired", ("default", "paired"))):
        if key not in res:
            continue
        trials = res[key]
        out.append(f"## A/A {design}: {len(trials)} pairs\n")
        out.append("| thresholds | false alarms (exit 1) | metrics judged regression |")
        out.append("|---|---:|---:|")
        for s in sets:
            fa = sum(1 for t in trials if t[s]["exit"] == 1)
            regs = sum(1 for t in trials for r in t[s]["metrics"] if r[3] == "regression")
            out.append(f"| {s} ({' '.join(THRESHOLDS[s]) or 'iops=-5% mean,p50,cpu=+5% p99=+10% p99.9=+20%'}) | {fa} of {len(trials)} | {regs} |")
        out.append("\nDrift: |estimated change| over all pairs and cases\n")
        out.append("| metric | n | median | 90th pct | max |")
        out.append("|---|---:|---:|---:|---:|")
        for metric, n, med, p90, mx in drift_table(trials, sets[1]):
            out.append(f"| {metric} | {n} | {med:.1f}% | {p90:.1f}% | {mx:.1f}% |")
        out.append("")
    for key, design in (("ab_paired", "paired, thresholds 'paired'"), ("ab_unpaired", "unpaired recipe, thresholds 'unpaired'")):
        if key not in res:
            continue
        out.append(f"## A/B {design}: detection of a throttled slowdown\n")
        out.append("| throttle (of base IOPS) | trials | gate failed (exit 1) | IOPS judged regression | IOPS change (median) |")
        out.append("|---|---:|---:|---:|---:|")
        for f in fractions:
            ts = [t for t in res[key] if t["fraction"] == f]
            if not ts:
                continue
            det = sum(1 for t in ts if t["exit"] == 1)
            reg = sum(1 for t in ts if t["iops_verdict"] == "regression")
            ch = statistics.median([t["iops_change_percent"] for t in ts if t["iops_change_percent"] is not None] or [0])
            out.append(f"| {f:.0%} | {len(ts)} | {det} | {reg} | {ch:+.1f}% |")
        out.append("")
    summary = "\n".join(out)
    res["summary_markdown"] = summary
    os.makedirs(os.path.join(ROOT, "benchmarks/results"), exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(ROOT, f"benchmarks/results/gate-calibration-{stamp}.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    print(summary)
    log(f"saved {path}")


if __name__ == "__main__":
    main()
