#!/usr/bin/env python3
"""Where a multi-extent read's extra CPU goes, per filesystem (issue 15's checks).

For each filesystem (ext4, XFS), on a loop device over an image file (in /dev/shm by
default, so the device adds no noise of its own): makes the filesystem, has iobench
prepare a fragmented file (`prepare --layout fragmented:16k`), then for each engine
setting (psync QD1, io_uring QD32) runs `--class simple,multi-extent:8k --verify-path
--profile`. Keeps each run's JSON and text report and the HTML page with its flame
graphs, and writes a summary: per filesystem and engine, the kernel-counted mappings
per read of both classes and the difference table's rows (layer and function, ns per
read of each class, the difference and its 95% sampling interval).

Root only (loop devices, mkfs, tracefs). Cleans up its own mounts and loop devices, by
name, also on failure. Results: benchmarks/results/profile-classes-<UTC>.json and the
directory profile-classes-<UTC>/. About 3 minutes at the defaults.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = {"psync QD1": ["--engine", "psync"],
           "io_uring QD32": ["--engine", "io_uring", "--iodepth", "32"]}
MKFS = {"ext4": ["mkfs.ext4", "-q", "-F"], "xfs": ["mkfs.xfs", "-f", "-q"]}


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


class LoopFS:
    """A filesystem on a loop device over a sparse image; cleanup() undoes only its own."""

    def __init__(self, fs: str, image_dir: str, size_mib: int):
        self.fs, self.device, self.mounted = fs, None, False
        self.root = tempfile.mkdtemp(prefix=f"iobench-profile-{fs}-", dir=image_dir)
        self.image = os.path.join(self.root, "fs.img")
        self.mnt = os.path.join(self.root, "mnt")
        os.mkdir(self.mnt)
        try:
            sh(["truncate", "-s", f"{size_mib}M", self.image], check=True)
            self.device = sh(["losetup", "--find", "--show", self.image], check=True).stdout.strip()
            sh(MKFS[fs] + [self.device], check=True)
            sh(["mount", "-t", fs, self.device, self.mnt], check=True)
            self.mounted = True
        except subprocess.CalledProcessError as e:
            self.cleanup()
            raise SystemExit(f"profile_classes: {' '.join(e.cmd)} failed: {e.stderr.strip()}")

    def cleanup(self) -> None:
        if self.mounted and sh(["umount", self.mnt]).returncode != 0:
            sh(["umount", "-l", self.mnt])
        self.mounted = False
        if self.device:
            sh(["losetup", "-d", self.device])
            self.device = None
        shutil.rmtree(self.root, ignore_errors=True)


def difference_rows(text: str) -> list[str]:
    """The difference table(s) of a text report: from the headline to the legend."""
    lines = text.splitlines()
    out, inside = [], False
    for ln in lines:
        if ln.startswith("profile Δ ") and not ln.startswith("profile Δ: "):
            inside = True
        if inside:
            out.append(ln)
        if ln.startswith("profile Δ: "):
            break
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iobench", default=os.path.join(HERE, "..", ".build", "release", "iobench"))
    ap.add_argument("--filesystems", default="ext4,xfs")
    ap.add_argument("--runtime", default="2s", help="per round")
    ap.add_argument("--repeat", type=int, default=5, help="rounds, paired for the difference intervals")
    ap.add_argument("--size", default="512m", help="the fragmented file")
    ap.add_argument("--image-dir", default="/dev/shm")
    ap.add_argument("--results-dir", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("profile_classes: needs root (loop devices, mkfs, tracefs for --verify-path)")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    outdir = os.path.join(args.results_dir, f"profile-classes-{stamp}")
    os.makedirs(outdir)
    summary = {"command": " ".join(sys.argv), "uname": os.uname().release, "runtime": args.runtime, "repeat": args.repeat, "runs": []}
    for fs in args.filesystems.split(","):
        lfs = LoopFS(fs, args.image_dir, 1400)
        try:
            target = os.path.join(lfs.mnt, "frag.dat")
            p = sh([args.iobench, "prepare", target, "--size", args.size, "--layout", "fragmented:16k"])
            if p.returncode != 0:
                raise SystemExit(f"profile_classes: prepare on {fs} failed: {p.stderr.strip()}")
            for name, extra in ENGINES.items():
                slug = f"{fs}-{name.replace(' ', '-').lower()}"
                json_path = os.path.join(outdir, slug + ".json")
                cmd = [args.iobench, "run", "--target", target, "--class", "simple,multi-extent:8k", "--verify-path",
                       "--runtime", args.runtime, "--ramp-time", "300ms", "--repeat", str(args.repeat), "--no-progress", "--profile",
                       "-o", json_path, "--plot", os.path.join(outdir, slug)] + extra
                r = sh(cmd, timeout=600)
                if r.returncode != 0:
                    raise SystemExit(f"profile_classes: {' '.join(cmd)} failed (exit {r.returncode}): {r.stderr.strip()}")
                with open(os.path.join(outdir, slug + ".txt"), "w") as f:
                    f.write(r.stdout)
                res = json.load(open(json_path))
                cases = {c["config"].get("class"): c for c in res["cases"]}
                entry = {"filesystem": fs, "engine": name, "command": " ".join(cmd), "cases": {}}
                for cls, c in cases.items():
                    pv = (c.get("path_verification") or {}).get("counts") or {}
                    pr = c.get("profile") or {}
                    entry["cases"][cls] = {
                        "iops": c["iops"], "cpu_ns_per_io": (c.get("cpu") or {}).get("per_io_ns"),
                        "mappings_per_read": pv.get("mappings_per_read"), "bios_per_read": pv.get("bios_per_read"),
                        "samples": pr.get("samples"), "lost": pr.get("lost"), "threads": pr.get("threads"),
                        "sample_period_ns": pr.get("sample_period_ns"), "threads_cpu_ns": pr.get("threads_cpu_ns"),
                        "rusage_cpu_ns": pr.get("rusage_cpu_ns"),
                        "layers_ns_per_read": {l["layer"]: round(l.get("ns_per_read") or 0) for l in pr.get("layers", [])},
                    }
                entry["difference_table"] = difference_rows(r.stdout)
                summary["runs"].append(entry)
                print(f"== {fs} {name}: mappings/read simple {entry['cases'].get('simple', {}).get('mappings_per_read')}"
                      f", multi-extent {entry['cases'].get('multi-extent', {}).get('mappings_per_read')}")
                print("\n".join(entry["difference_table"]))
        finally:
            lfs.cleanup()
    out = os.path.join(args.results_dir, f"profile-classes-{stamp}.json")
    with open(out, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"results: {out} and {outdir}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
