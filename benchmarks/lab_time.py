#!/usr/bin/env python3
"""Wall time of `iobench lab` with its default settings, and whether it leaves the
system as it found it.

Runs `iobench lab --format json` N times (default 1). For each run it records the wall
time, the lab's own phase times (set-up, run, teardown), its cleanup check, the cases
that ran and were skipped, and compares `losetup -a` and /proc/self/mountinfo before
and after. The target: under 5 minutes per lab, nothing left behind.

Needs root. Writes benchmarks/results/lab-time-<UTC timestamp>.json.

Usage: python3 benchmarks/lab_time.py [--runs N] [--binary .build/release/iobench]
                                      [--dir DIR] [-- extra lab options]
"""
import argparse, datetime, json, os, platform, subprocess, sys, time

LIMIT_S = 300


def snapshot():
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout.splitlines()
    with open("/proc/self/mountinfo") as f:
        # Mount ids and peer groups change with every mount; compare what is mounted where.
        mounts = []
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            mounts.append(f"{fields[4]} {right.split()[0]} {right.split()[1]}")
    return sorted(loops), sorted(mounts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--binary", default=".build/release/iobench")
    ap.add_argument("--dir", default=None, help="the lab's --dir (default: iobench's own default)")
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("extra", nargs="*", help="more lab options, after --")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("lab_time.py: iobench lab needs root (loop devices, mount); run it as root", file=sys.stderr)
        return 2
    if not os.access(a.binary, os.X_OK):
        print(f"lab_time.py: {a.binary} not found; build it first (make release)", file=sys.stderr)
        return 2

    cmd = [a.binary, "lab", "--format", "json", "--no-progress"] + (["--dir", a.dir] if a.dir else []) + a.extra
    print(f"lab_time.py: {a.runs} run(s) of: {' '.join(cmd)}", file=sys.stderr)
    runs = []
    for i in range(a.runs):
        before = snapshot()
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - t0
        after = snapshot()
        rec = {"run": i + 1, "exit_code": p.returncode, "wall_seconds": round(wall, 2),
               "losetup_unchanged": before[0] == after[0], "mountinfo_unchanged": before[1] == after[1]}
        if before != after:
            rec["losetup_diff"] = {"before": before[0], "after": after[0]}
            rec["mount_diff"] = {"gone": sorted(set(before[1]) - set(after[1])), "new": sorted(set(after[1]) - set(before[1]))}
        try:
            r = json.loads(p.stdout)
        except ValueError:
            r = None
            rec["stderr_tail"] = p.stderr.splitlines()[-5:]
        if r:
            lab = r.get("lab", {})
            rec["phase_seconds"] = {k: round(v, 2) for k, v in lab.get("phase_seconds", {}).items()}
            rec["cleanup"] = lab.get("cleanup")
            rec["rounds"] = lab.get("rounds")
            rec["filesystems"] = [{k: f.get(k) for k in ("label", "loop_device", "direct_io", "backing_bytes",
                                                        "layout_file_bytes", "mappings_per_read", "simple_read_path_active")}
                                  | {"extent_records": f.get("extents", {}).get("records"),
                                     "extent_boundaries": f.get("extents", {}).get("discontinuities")}
                                  for f in lab.get("filesystems", [])]
            cases = r.get("cases", [])
            rec["cases"] = {s: sum(1 for c in cases if c.get("status") == s) for s in ("ok", "skipped", "failed")}
            rec["skipped"] = sorted({c.get("reason", "") for c in cases if c.get("status") == "skipped"})
        rec["within_limit"] = wall < LIMIT_S
        runs.append(rec)
        ph = rec.get("phase_seconds", {})
        print(f"run {i + 1}: exit {p.returncode}, {wall:.1f} s (set-up {ph.get('setup', '?')} s, run {ph.get('run', '?')} s, "
              f"teardown {ph.get('teardown', '?')} s), losetup {'unchanged' if rec['losetup_unchanged'] else 'CHANGED'}, "
              f"mounts {'unchanged' if rec['mountinfo_unchanged'] else 'CHANGED'}", file=sys.stderr)

    walls = [r["wall_seconds"] for r in runs]
    doc = {
        "schema": "iobench/bench-lab-time", "schema_version": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": {"kernel": platform.release(), "cpus": os.cpu_count()},
        "command": cmd, "limit_seconds": LIMIT_S,
        "summary": {"runs": len(runs), "wall_seconds_max": max(walls), "wall_seconds_min": min(walls),
                    "all_within_limit": all(r["within_limit"] for r in runs),
                    "all_exit_0": all(r["exit_code"] == 0 for r in runs),
                    "nothing_left_behind": all(r["losetup_unchanged"] and r["mountinfo_unchanged"] for r in runs)},
        "runs": runs,
    }
    os.makedirs(a.out_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(a.out_dir, f"lab-time-{stamp}.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"lab_time.py: wrote {path}", file=sys.stderr)
    print(json.dumps(doc["summary"]))
    s = doc["summary"]
    return 0 if s["all_within_limit"] and s["all_exit_0"] and s["nothing_left_behind"] else 1


if __name__ == "__main__":
    sys.exit(main())
