#!/usr/bin/env python3
"""iobench and fio side by side: the same 4 KiB random-read workloads on the same files.

Runs every case once with iobench and once with fio, alternating (iobench, fio, iobench,
fio, ...) over several rounds, so that slow drift of the device hits both tools alike.
Prints one table per target and saves every raw result, the exact command lines and a
description of the machine as JSON under benchmarks/results/.

Python 3 standard library only. See benchmarks/README.md for how to read the numbers.

    python3 benchmarks/compare_fio.py                 # full run (what `make bench` does)
    python3 benchmarks/compare_fio.py --quick         # smoke test: 1 round of 1 s
    python3 benchmarks/compare_fio.py --targets shm --cases psync-qd1,io_uring-qd1
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IOBENCH = os.path.join(REPO, ".build", "release", "iobench")
DEFAULT_RESULTS = os.path.join(REPO, "benchmarks", "results")
DEFAULT_SHM_PATH = "/dev/shm/iobench-compare-fio.dat"
BLOCK_SIZE = 4096
# Process start, file open, ring/context set-up and teardown, result writing, and the
# harness's own checks between runs: measured at 0.15-0.35 s here, budgeted generously.
STARTUP_ALLOWANCE_S = 0.6
BUDGET_S = 600
# Before each run the harness watches the idle machine this long (see other_cpu_busy).
IDLE_SAMPLE_S = 0.3
BUSY_WARN_PCT = 15.0


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    engine: str  # iobench --engine and fio ioengine (same names for these engines)
    iodepth: int
    fixed_buffers: bool = False
    registered_files: bool = False
    submit_batch: int = 1
    complete_batch: int = 1

    def iobench_args(self) -> list[str]:
        a = ["--engine", self.engine, "--iodepth", str(self.iodepth)]
        if self.fixed_buffers:
            a.append("--fixed-buffers")
        if self.registered_files:
            a.append("--registered-files")
        if self.submit_batch != 1:
            a += ["--submit-batch", str(self.submit_batch)]
        if self.complete_batch != 1:
            a += ["--complete-batch", str(self.complete_batch)]
        return a

    def fio_options(self) -> dict[str, str]:
        o = {"ioengine": self.engine, "iodepth": str(self.iodepth)}
        if self.engine != "psync":
            # iobench waits for --complete-batch completions, then reaps *all* that are
            # ready. fio's iodepth_batch_complete_max defaults to the _min value (1), so
            # fio would reap one completion per getevents call; setting max to the queue
            # depth gives fio iobench's reaping policy.
            o["iodepth_batch_submit"] = str(self.submit_batch)
            o["iodepth_batch_complete_min"] = str(self.complete_batch)
            o["iodepth_batch_complete_max"] = str(self.iodepth)
        if self.fixed_buffers:
            o["fixedbufs"] = "1"
        if self.registered_files:
            o["registerfiles"] = "1"
        return o


CASES = [
    Case("psync-qd1", "psync QD1", "psync", 1),
    Case("libaio-qd32", "libaio QD32", "libaio", 32),
    Case("io_uring-qd1", "io_uring QD1", "io_uring", 1),
    Case("io_uring-qd32", "io_uring QD32", "io_uring", 32),
    Case("io_uring-qd128-fixed", "io_uring QD128 fixed+reg+b32", "io_uring", 128,
         fixed_buffers=True, registered_files=True, submit_batch=32, complete_batch=32),
]
CASE_BY_KEY = {c.key: c for c in CASES}


@dataclass
class TargetSpec:
    key: str
    path: str
    description: str
    created_by_harness: bool = False
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- helpers

def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_duration_ms(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration; use e.g. 3, 3s or 500ms")
    value = float(m.group(1)) * (1 if m.group(2) == "ms" else 1000)
    if value <= 0 and text.strip() not in ("0", "0s", "0ms"):
        raise argparse.ArgumentTypeError(f"'{text}' must not be negative")
    return int(round(value))


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9]+)\s*([kmgt]?)(i?b)?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size; use e.g. 1g or 256m")
    n = int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]
    if n < BLOCK_SIZE or n % BLOCK_SIZE:
        raise argparse.ArgumentTypeError(f"size {text} must be a positive multiple of 4k")
    return n


def fmt_size(n: int) -> str:
    for unit, shift in (("g", 30), ("m", 20), ("k", 10)):
        if n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def run_cmd(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)


def read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cpu_model() -> str | None:
    txt = read_text("/proc/cpuinfo") or ""
    for line in txt.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    line = (read_text("/proc/stat") or "").splitlines()[:1]
    if not line or not line[0].startswith("cpu "):
        return None
    v = [int(x) for x in line[0].split()[1:9]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v)


def other_cpu_busy(seconds: float = IDLE_SAMPLE_S) -> float | None:
    """Percent of all CPUs busy over a short pause between runs, when neither tool runs:
    the share taken by other work (the load average would count this harness's own runs)."""
    a = cpu_times()
    time.sleep(seconds)
    b = cpu_times()
    if not a or not b or b[1] == a[1]:
        return None
    return 100.0 * (b[0] - a[0]) / (b[1] - a[1])


def loadavg() -> list[float] | None:
    txt = read_text("/proc/loadavg")
    return [float(x) for x in txt.split()[:3]] if txt else None


def tool_version(cmd: list[str]) -> str | None:
    try:
        p = run_cmd(cmd, 30)
        return (p.stdout.strip() or p.stderr.strip()) or None
    except (OSError, subprocess.SubprocessError):
        return None


def git_state() -> dict:
    def git(*a):
        try:
            p = run_cmd(["git", "-C", REPO, *a], 30)
            return p.stdout.strip() if p.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


def block_queue_of(path: str) -> dict | None:
    """The scheduler and queue settings of the block device holding path, if any."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    sys_dev = f"/sys/dev/block/{major}:{minor}"
    if not os.path.exists(sys_dev):
        return None
    real = os.path.realpath(sys_dev)
    queue = os.path.join(real, "queue")
    if not os.path.isdir(queue):  # a partition: the queue is on the parent disk
        queue = os.path.join(os.path.dirname(real), "queue")
    out = {"device": os.path.basename(real)}
    for name in ("scheduler", "nr_requests", "io_poll", "rotational", "logical_block_size"):
        v = read_text(os.path.join(queue, name))
        if v is not None:
            out[name] = v
    return out


def filesystem_of(path: str) -> dict | None:
    """Mount point and type of the filesystem holding path (longest matching mount)."""
    best = None
    real = os.path.realpath(path)
    for line in (read_text("/proc/self/mounts") or "").splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = parts[1].replace("\\040", " ")
        if real == mnt or real.startswith(mnt.rstrip("/") + "/"):
            if best is None or len(mnt) > len(best["mount_point"]):
                best = {"mount_point": mnt, "type": parts[2], "source": parts[0]}
    return best


def fingerprint(path: str, region: int) -> dict:
    """Size, times and a hash of 16 sampled 4 KiB blocks: changes if anything writes the file."""
    st = os.stat(path)
    h = hashlib.sha256()
    blocks = region // BLOCK_SIZE
    offsets = sorted({0, (blocks - 1) * BLOCK_SIZE} | {((i * 2654435761) % blocks) * BLOCK_SIZE for i in range(1, 15)})
    with open(path, "rb") as f:
        for off in offsets:
            f.seek(off)
            h.update(f.read(BLOCK_SIZE))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            "inode": st.st_ino, "sampled_sha256": h.hexdigest()}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------------------- iobench

def run_seed(rnd: int, target_key: str, case_key: str) -> int:
    """A fresh, reproducible seed per (round, target, case), given to both tools of the pair:
    no run replays the offsets of an earlier run (a host-side cache behind a virtual disk
    would otherwise serve repeats faster)."""
    h = hashlib.sha256(f"{rnd}/{target_key}/{case_key}".encode()).digest()
    return int.from_bytes(h[:4], "little") or 1


def iobench_cmd(args, target: TargetSpec, case: Case | None, runtime_ms: int, ramp_ms: int,
                extra: list[str] | None = None, seed: int | None = None) -> list[str]:
    cmd = [args.iobench, "run", "--target", target.path, "--size", fmt_size(args.size),
           "--bs", "4k", "--rw", "randread", "--numjobs", "1",
           "--ramp-time", f"{ramp_ms}ms", "--format", "json", "--no-progress"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if runtime_ms:
        cmd += ["--runtime", f"{runtime_ms}ms"]
    cmd += case.iobench_args() if case else []
    return cmd + (extra or [])


def parse_iobench(stdout: str) -> dict:
    d = json.loads(stdout)
    if not d.get("cases"):
        raise ValueError("iobench JSON has no cases")
    c = d["cases"][0]
    if c.get("status") != "ok":
        raise ValueError(f"iobench case {c.get('id')} status {c.get('status')}: {c.get('reason')}")
    if d.get("interrupted") or c.get("interrupted"):
        raise ValueError("iobench run was interrupted")
    lat = c["latency"]
    pct = {float(p["percentile"]): p["value_ns"] for p in lat["percentiles"]}
    return {
        "iops": c["iops"],
        "ios": c["ios"],
        "elapsed_s": c["elapsed_ns"] / 1e9,
        "lat_mean_ns": lat["mean_ns"],
        "lat_p50_ns": pct.get(50.0),
        "lat_p99_ns": pct.get(99.0),
        "cpu_us_per_io": c["cpu"]["per_io_ns"] / 1000.0,
        "case_id": c["id"],
    }, d


# ---------------------------------------------------------------------------- fio

def fio_cmd(args, target: TargetSpec, case: Case, runtime_ms: int, ramp_ms: int, out_file: str,
            seed: int) -> list[str]:
    opts = {
        "name": case.key,
        "filename": target.path,
        "size": str(args.size),
        "rw": "randread",
        "bs": "4k",
        "direct": "1",
        "numjobs": "1",
        "time_based": "1",
        "runtime": f"{runtime_ms}ms",
        "ramp_time": f"{ramp_ms}ms",
        # Reads may repeat a block, as with iobench's generator (no coverage map to keep).
        "norandommap": "1",
        "randseed": str(seed),
        # The file is iobench's, complete: fio must neither create nor lay it out, and
        # neither tool drops the page cache before the run.
        "allow_file_create": "0",
        "invalidate": "0",
        "percentile_list": "50:99",
        "clat_percentiles": "1",
        "lat_percentiles": "1",
    }
    opts.update(case.fio_options())
    # --readonly: fio refuses to issue any write to the target (a second safety net).
    return [args.fio, "--readonly", "--output-format=json", f"--output={out_file}"] + \
           [f"--{k}={v}" for k, v in opts.items()]


def fio_percentiles(node: dict) -> tuple[int | None, int | None]:
    p = node.get("percentile") or {}
    vals = {float(k): v for k, v in p.items()}
    return vals.get(50.0), vals.get(99.0)


def parse_fio(text: str) -> tuple[dict, dict]:
    # fio sometimes writes notes before the JSON object: start at the first line that opens it.
    if text.lstrip().startswith("{"):
        start = 0
    else:
        start = text.find("\n{") + 1
        if start == 0:
            raise ValueError("fio wrote no JSON")
    d = json.loads(text[start:])
    job = d["jobs"][0]
    if job.get("error"):
        raise ValueError(f"fio job error {job['error']}")
    r = job["read"]
    clat50, clat99 = fio_percentiles(r.get("clat_ns", {}))
    lat50, lat99 = fio_percentiles(r.get("lat_ns", {}))
    runtime_ms = job.get("job_runtime") or r.get("runtime")
    ios = r["total_ios"]
    cpu_frac = (job["usr_cpu"] + job["sys_cpu"]) / 100.0
    cpu_us = cpu_frac * (runtime_ms / 1000.0) / ios * 1e6 if ios else None
    return {
        "iops": r["iops"],
        "ios": ios,
        "elapsed_s": runtime_ms / 1000.0,
        "lat_mean_ns": r["lat_ns"]["mean"],
        "clat_mean_ns": r["clat_ns"]["mean"],
        "slat_mean_ns": r.get("slat_ns", {}).get("mean"),
        "lat_p50_ns": lat50,
        "lat_p99_ns": lat99,
        "clat_p50_ns": clat50,
        "clat_p99_ns": clat99,
        "usr_cpu_pct": job["usr_cpu"],
        "sys_cpu_pct": job["sys_cpu"],
        "cpu_us_per_io": cpu_us,
    }, d


# ---------------------------------------------------------------------------- targets

def prepare_target(args, t: TargetSpec) -> None:
    """Creates (or reuses) the target with iobench, so both tools read iobench's stamped file."""
    existed = os.path.exists(t.path)
    if existed and os.path.getsize(t.path) < args.size:
        log(f"  {t.path} holds {os.path.getsize(t.path)} bytes < {args.size}: iobench will extend it "
            "(only if it is iobench's own file; otherwise it refuses)")
    cmd = iobench_cmd(args, t, Case("prep", "prep", "psync", 1), 0, 0, ["--number-ios", "64"])
    p = run_cmd(cmd, 900)
    if p.returncode != 0:
        raise SystemExit(f"compare_fio: preparing {t.path} failed (iobench exit {p.returncode}):\n{p.stderr.strip()}")
    d = json.loads(p.stdout)
    info = d["target"]
    t.created_by_harness = not existed
    t.info = {"iobench_target": info, "prepare_command": cmd, "created_by_this_harness": not existed,
              "filesystem": filesystem_of(t.path), "block_queue": block_queue_of(t.path)}
    size = os.path.getsize(t.path)
    if size < args.size:
        raise SystemExit(f"compare_fio: {t.path} is {size} bytes after preparing, less than --size {args.size}")
    if not info.get("stamped"):
        log(f"  note: {t.path} does not hold iobench's stamp (not written by iobench); reading it anyway")
    log(f"  {t.key}: {t.path} ({size >> 20} MiB, {(t.info['filesystem'] or {}).get('type', '?')}"
        f"{', created now' if not existed else ', reused'}{', stamped' if info.get('stamped') else ''})")


def final_check(args, t: TargetSpec, before: dict) -> dict:
    """After all runs: the file is unchanged, and (if stamped) its data still verifies."""
    after = fingerprint(t.path, args.size)
    check = {"fingerprint_before": before, "fingerprint_after": after, "unchanged": after == before}
    if t.info.get("iobench_target", {}).get("stamped"):
        cmd = iobench_cmd(args, t, Case("verify", "verify", "psync", 1), 0, 0, ["--number-ios", "4096", "--verify"])
        p = run_cmd(cmd, 300)
        ok = False
        if p.returncode == 0:
            c = json.loads(p.stdout)["cases"][0]
            ok = c["status"] == "ok" and c["errors"]["verify_mismatches"] == 0 and c["errors"]["verified_reads"] > 0
            check["verified_reads"] = c["errors"]["verified_reads"]
        check["verify_ok"] = ok
        check["verify_command"] = cmd
    return check


# ---------------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Run iobench and fio side by side (interleaved) on the same targets and settings.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="cases: " + ", ".join(c.key for c in CASES) + "\ntargets: shm (a file on /dev/shm), disk (the scratch file)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per case and tool (default 3)")
    p.add_argument("--runtime", type=parse_duration_ms, default=3000, help="measured time per run (default 3s)")
    p.add_argument("--ramp-time", type=parse_duration_ms, default=500, help="warm-up per run, excluded (default 500ms)")
    p.add_argument("--size", type=parse_size, default=1 << 30, help="region read on every target (default 1g)")
    p.add_argument("--targets", default="shm,disk", help="comma-separated: shm, disk (default both)")
    p.add_argument("--cases", default=",".join(c.key for c in CASES), help="comma-separated subset of the cases")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 round of 1 s per run")
    p.add_argument("--iobench", default=DEFAULT_IOBENCH, help="iobench binary (default .build/release/iobench)")
    p.add_argument("--fio", default="fio", help="fio binary (default: fio on PATH)")
    p.add_argument("--shm-path", default=DEFAULT_SHM_PATH, help=f"file on tmpfs (default {DEFAULT_SHM_PATH})")
    p.add_argument("--disk-path", default=None,
                   help="scratch file on disk (default $IOBENCH_DIR/iobench.dat, else <tmp>/iobench.dat)")
    p.add_argument("--keep-shm", action="store_true", help="keep the /dev/shm file this run created (it holds RAM)")
    p.add_argument("--results-dir", default=DEFAULT_RESULTS, help="where the JSON result goes")
    return p


def main() -> int:
    args = build_parser().parse_args()
    if args.quick:
        args.rounds, args.runtime = 1, 1000
    if args.rounds < 1:
        raise SystemExit("compare_fio: --rounds must be at least 1")

    wanted_targets = [x.strip() for x in args.targets.split(",") if x.strip()]
    bad = [x for x in wanted_targets if x not in ("shm", "disk")]
    if bad or not wanted_targets:
        raise SystemExit(f"compare_fio: unknown target(s) {bad}; choose from shm, disk")
    wanted_cases = [x.strip() for x in args.cases.split(",") if x.strip()]
    bad = [x for x in wanted_cases if x not in CASE_BY_KEY]
    if bad or not wanted_cases:
        raise SystemExit(f"compare_fio: unknown case(s) {bad}; choose from {', '.join(CASE_BY_KEY)}")
    cases = [CASE_BY_KEY[k] for k in CASE_BY_KEY if k in wanted_cases]

    if not (os.path.isfile(args.iobench) and os.access(args.iobench, os.X_OK)):
        raise SystemExit(f"compare_fio: {args.iobench} not found; build it with `swift build -c release` (or run `make bench`)")
    if not shutil.which(args.fio):
        raise SystemExit("compare_fio: fio not found; install it with `apt-get install -y fio` (or run `make bench`)")

    # Others may rebuild .build/release/iobench while this runs: every run uses one snapshot.
    tmp = tempfile.mkdtemp(prefix="compare-fio-")
    iobench_source = os.path.abspath(args.iobench)
    args.iobench = os.path.join(tmp, "iobench")
    shutil.copy2(iobench_source, args.iobench)
    with open(args.iobench, "rb") as f:
        iobench_sha256 = hashlib.sha256(f.read()).hexdigest()

    disk_path = args.disk_path or os.path.join(os.environ.get("IOBENCH_DIR") or tempfile.gettempdir(), "iobench.dat")
    targets = []
    for key in wanted_targets:
        if key == "shm":
            targets.append(TargetSpec("shm", args.shm_path, "file on tmpfs: memory speed, shows each tool's own cost"))
        else:
            targets.append(TargetSpec("disk", disk_path, "scratch file on the disk"))

    runs_total = len(targets) * len(cases) * 2 * args.rounds
    per_run = (args.runtime + args.ramp_time) / 1000.0 + STARTUP_ALLOWANCE_S + IDLE_SAMPLE_S
    estimate = runs_total * per_run
    started = time.monotonic()
    started_at = dt.datetime.now(dt.timezone.utc)

    log(f"compare_fio: {len(cases)} cases x {len(targets)} targets x 2 tools x {args.rounds} rounds = {runs_total} runs "
        f"of {args.ramp_time / 1000:g}s ramp + {args.runtime / 1000:g}s")
    log(f"compare_fio: estimated duration {estimate / 60:.1f} min ({estimate:.0f} s), plus creating missing targets")
    if estimate > BUDGET_S:
        log(f"compare_fio: warning: that is over the {BUDGET_S // 60}-minute budget of `make bench`; "
            "lower --rounds or --runtime")

    machine = {
        "kernel": platform.release(),
        "uname": " ".join(platform.uname()),
        "cpu_model": cpu_model(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "online_cpus": os.cpu_count(),
        "mem_total_kib": next((int(l.split()[1]) for l in (read_text("/proc/meminfo") or "").splitlines()
                               if l.startswith("MemTotal:")), None),
        "fio_version": tool_version([args.fio, "--version"]),
        "iobench_version": tool_version([args.iobench, "--version"]),
        "iobench_path": iobench_source,
        "iobench_sha256": iobench_sha256,
        "iobench_git": git_state(),
        "python": platform.python_version(),
        "date_utc": started_at.isoformat(timespec="seconds"),
        "loadavg_at_start": loadavg(),
    }
    log(f"compare_fio: {machine['fio_version']}, iobench {machine['iobench_version']}, kernel {machine['kernel']}, "
        f"{machine['nproc']} CPUs ({machine['cpu_model']}), load {machine['loadavg_at_start']}")
    b = machine["other_cpu_busy_pct_at_start"] = other_cpu_busy(1.0)
    if b is not None and b > BUSY_WARN_PCT:
        log(f"compare_fio: warning: the machine is {b:.0f}% busy with other work: it competes with the runs "
            "(both tools alike, but the ratios get noisier)")

    log("compare_fio: preparing targets with iobench")
    try:
        for t in targets:
            prepare_target(args, t)
        fingerprints = {t.key: fingerprint(t.path, args.size) for t in targets}
    except BaseException:
        cleanup(args, targets, tmp)
        raise

    runs: list[dict] = []
    problems: list[str] = []
    n = 0
    try:
        for rnd in range(1, args.rounds + 1):
            for t in targets:
                for case in cases:
                    for tool in ("iobench", "fio"):
                        n += 1
                        log(f"[{n}/{runs_total}] round {rnd} {t.key:4s} {case.label:30s} {tool}")
                        rec = {"round": rnd, "target": t.key, "case": case.key, "tool": tool,
                               "other_cpu_busy_pct_before": other_cpu_busy(), "loadavg_before": loadavg(), "started_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
                        timeout = (args.runtime + args.ramp_time) / 1000.0 + 120
                        seed = rec["seed"] = run_seed(rnd, t.key, case.key)
                        try:
                            if tool == "iobench":
                                cmd = iobench_cmd(args, t, case, args.runtime, args.ramp_time, seed=seed)
                                rec["command"] = cmd
                                p = run_cmd(cmd, timeout)
                                rec["exit_code"], rec["stderr"] = p.returncode, p.stderr
                                if p.returncode != 0:
                                    raise ValueError(f"iobench exit {p.returncode}: {p.stderr.strip()[-400:]}")
                                rec["summary"], rec["raw"] = parse_iobench(p.stdout)
                            else:
                                out = os.path.join(tmp, f"fio-{n}.json")
                                cmd = fio_cmd(args, t, case, args.runtime, args.ramp_time, out, seed)
                                rec["command"] = cmd
                                p = run_cmd(cmd, timeout)
                                rec["exit_code"], rec["stderr"] = p.returncode, p.stderr
                                text = read_text(out) or ""
                                laid_out = "Laying out" in (p.stdout + p.stderr + text)
                                fp = fingerprint(t.path, args.size)
                                rec["target_unchanged"] = (fp == fingerprints[t.key]) and not laid_out
                                if not rec["target_unchanged"]:
                                    raise SystemExit(f"compare_fio: fio changed or laid out {t.path} "
                                                     f"(before {fingerprints[t.key]}, after {fp}); stopping")
                                if p.returncode != 0:
                                    raise ValueError(f"fio exit {p.returncode}: {p.stderr.strip()[-400:]}")
                                rec["summary"], rec["raw"] = parse_fio(text)
                        except (ValueError, KeyError, TypeError, json.JSONDecodeError, subprocess.TimeoutExpired) as e:
                            rec["error"] = str(e)
                            problems.append(f"round {rnd} {t.key} {case.key} {tool}: {e}")
                            log(f"    FAILED: {e}")
                        else:
                            s = rec["summary"]
                            log(f"    {s['iops']:>12,.0f} IOPS  p50 {fmt_us(s['lat_p50_ns'])} µs  "
                                f"p99 {fmt_us(s['lat_p99_ns'])} µs  CPU {fmt_num(s['cpu_us_per_io'])} µs/IO")
                        runs.append(rec)
    except BaseException:
        cleanup(args, targets, tmp)
        raise

    checks = {}
    for t in targets:
        checks[t.key] = final_check(args, t, fingerprints[t.key])
        if not checks[t.key]["unchanged"] or checks[t.key].get("verify_ok") is False:
            problems.append(f"target {t.path} changed during the run or fails verification: {checks[t.key]}")
    removed = cleanup(args, targets, tmp)

    elapsed = time.monotonic() - started
    summary = summarize(runs, targets, cases)
    table = render(summary, targets, cases, args)
    busy = [r["other_cpu_busy_pct_before"] for r in runs if r.get("other_cpu_busy_pct_before") is not None]
    if busy:
        disturbed = sum(1 for b in busy if b > BUSY_WARN_PCT)
        table += (f"\nother work on the machine (CPU busy in a {IDLE_SAMPLE_S:g} s pause before each run): "
                  f"median {statistics.median(busy):.0f}%, max {max(busy):.0f}% of {machine['nproc']} CPUs"
                  + (f"; {disturbed} of {len(busy)} runs started with >{BUSY_WARN_PCT:g}% busy: "
                     "other work competed, treat the ratios as rough" if disturbed else ""))
    print(table)
    for p in problems:
        print(f"PROBLEM: {p}")
    print(f"duration {elapsed:.0f} s (estimated {estimate:.0f} s)")

    os.makedirs(args.results_dir, exist_ok=True)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(args.results_dir, f"compare-fio-{stamp}.json")
    doc = {
        "schema": "iobench/compare-fio", "schema_version": 1,
        "machine": machine,
        "settings": {"rounds": args.rounds, "runtime_ms": args.runtime, "ramp_time_ms": args.ramp_time,
                     "size_bytes": args.size, "block_size": BLOCK_SIZE, "rw": "randread", "direct": True,
                     "numjobs": 1, "order": "per round, per target, per case: iobench then fio",
                     "command_line": sys.argv},
        "targets": {t.key: {"path": t.path, "description": t.description, **t.info} for t in targets},
        "cases": {c.key: {"label": c.label, "iobench_args": c.iobench_args(), "fio_options": c.fio_options()} for c in cases},
        "summary": summary,
        "table": table,
        "target_checks": checks,
        "removed_after_run": removed,
        "problems": problems,
        "duration_s": round(elapsed, 1),
        "estimated_duration_s": round(estimate, 1),
        "loadavg_at_end": loadavg(),
        "runs": runs,
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"raw results: {os.path.relpath(path, os.getcwd()) if path.startswith(os.getcwd()) else path}")
    return 1 if problems else 0


def cleanup(args, targets, tmp) -> list[str]:
    """Removes the iobench snapshot and, unless --keep-shm, the /dev/shm file this run created."""
    shutil.rmtree(tmp, ignore_errors=True)
    removed = []
    for t in targets:
        if t.key == "shm" and t.created_by_harness and not args.keep_shm and os.path.exists(t.path):
            os.unlink(t.path)
            removed.append(t.path)
    return removed


# ---------------------------------------------------------------------------- summary and table

def fmt_us(ns) -> str:
    if ns is None:
        return "-"
    us = ns / 1000.0
    return f"{us:.2f}" if us < 10 else (f"{us:.1f}" if us < 1000 else f"{us:.0f}")


def fmt_num(x, digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def fmt_iops(x) -> str:
    if x is None:
        return "-"
    return f"{x / 1e6:.2f}M" if x >= 1e6 else (f"{x / 1e3:.1f}k" if x >= 1e3 else f"{x:.0f}")


def summarize(runs, targets, cases) -> dict:
    out = {}
    for t in targets:
        out[t.key] = {}
        for c in cases:
            rows = {tool: [r for r in runs if r["target"] == t.key and r["case"] == c.key and r["tool"] == tool]
                    for tool in ("iobench", "fio")}
            ok = {tool: {r["round"]: r["summary"] for r in rs if "summary" in r} for tool, rs in rows.items()}
            ratios = [ok["iobench"][k]["iops"] / ok["fio"][k]["iops"]
                      for k in sorted(set(ok["iobench"]) & set(ok["fio"])) if ok["fio"][k]["iops"]]
            entry = {"rounds_ok": {tool: len(v) for tool, v in ok.items()},
                     "iops_ratio_per_round": ratios,
                     "iops_ratio_median": median(ratios),
                     "iops_ratio_min": min(ratios) if ratios else None,
                     "iops_ratio_max": max(ratios) if ratios else None}
            for tool in ("iobench", "fio"):
                vals = list(ok[tool].values())
                keys = ["iops", "lat_mean_ns", "lat_p50_ns", "lat_p99_ns", "cpu_us_per_io"]
                if tool == "fio":
                    keys += ["clat_p50_ns", "clat_p99_ns", "slat_mean_ns"]
                entry[tool] = {f"{k}_median": median([v.get(k) for v in vals]) for k in keys}
                entry[tool]["iops_per_round"] = [v["iops"] for v in vals]
                entry[tool]["cpu_us_per_io_per_round"] = [v.get("cpu_us_per_io") for v in vals]
            both = sorted(set(ok["iobench"]) & set(ok["fio"]))
            # CPU per read, iobench over fio, paired by round (< 1: iobench spent less CPU per read).
            entry["cpu_ratio_per_round"] = [ok["iobench"][k]["cpu_us_per_io"] / ok["fio"][k]["cpu_us_per_io"]
                                            for k in both
                                            if ok["iobench"][k].get("cpu_us_per_io") and ok["fio"][k].get("cpu_us_per_io")]
            entry["cpu_ratio_median"] = median(entry["cpu_ratio_per_round"])
            # Geometric mean of the paired ratios and its 95% Student-t interval (on the logs):
            # "iobench's CPU per read is at or below fio's" holds when the upper end is <= 1.
            import binary_ab  # late: binary_ab imports this module
            if len(entry["cpu_ratio_per_round"]) >= 2:
                g, lo, hi = binary_ab.ratio_interval([math.log(r) for r in entry["cpu_ratio_per_round"]])
                entry["cpu_ratio_geomean"], entry["cpu_ratio_ci95"] = g, [lo, hi]
            else:
                entry["cpu_ratio_geomean"], entry["cpu_ratio_ci95"] = median(entry["cpu_ratio_per_round"]), None
            out[t.key][c.key] = entry
    return out


def fmt_cpu_ratio(e) -> str:
    g, ci = e.get("cpu_ratio_geomean"), e.get("cpu_ratio_ci95")
    if g is None:
        return "-"
    return f"{g:.2f} [{ci[0]:.2f}-{ci[1]:.2f}]" if ci else f"{g:.2f}"


def render(summary, targets, cases, args) -> str:
    lines = []
    hdr = ("case", "iobench IOPS", "fio IOPS", "ratio ib/fio (min-max)",
           "p50 µs ib", "fio lat", "fio clat", "p99 µs ib", "fio lat", "fio clat", "CPU µs/IO ib", "fio", "CPU ib/fio [95%]")
    for t in targets:
        fs = (t.info.get("filesystem") or {}).get("type", "?")
        lines.append("")
        lines.append(f"== {t.key}: {t.path} ({fs}, {fmt_size(args.size)} region), 4 KiB randread O_DIRECT, 1 job, "
                     f"{args.rounds} round(s) x {args.runtime / 1000:g} s (+{args.ramp_time / 1000:g} s ramp); medians over rounds")
        rows = [hdr]
        for c in cases:
            e = summary[t.key][c.key]
            ib, fio = e["iobench"], e["fio"]
            ratio = "-" if e["iops_ratio_median"] is None else \
                f"{e['iops_ratio_median']:.2f} ({e['iops_ratio_min']:.2f}-{e['iops_ratio_max']:.2f})"
            rows.append((c.label, fmt_iops(ib["iops_median"]), fmt_iops(fio["iops_median"]), ratio,
                         fmt_us(ib["lat_p50_ns_median"]), fmt_us(fio["lat_p50_ns_median"]), fmt_us(fio["clat_p50_ns_median"]),
                         fmt_us(ib["lat_p99_ns_median"]), fmt_us(fio["lat_p99_ns_median"]), fmt_us(fio["clat_p99_ns_median"]),
                         fmt_num(ib["cpu_us_per_io_median"]), fmt_num(fio["cpu_us_per_io_median"]),
                         fmt_cpu_ratio(e)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(hdr))]
        for i, r in enumerate(rows):
            cells = [r[0].ljust(widths[0])] + [r[j].rjust(widths[j]) for j in range(1, len(r))]
            lines.append("  ".join(cells))
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("ratio > 1: iobench did more IOPS than fio. Latency is submit->completion: iobench's, and fio's lat "
                 "(total); fio clat excludes fio's submission time. CPU = user+sys of the I/O thread per read; "
                 "CPU ib/fio is the geometric mean of the per-round ratios with its 95% t interval (< 1: iobench used less).")
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("compare_fio: interrupted")
        sys.exit(130)
