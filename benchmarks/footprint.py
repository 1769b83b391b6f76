#!/usr/bin/env python3
"""Memory and start-up of iobench, measured from outside the process.

- Peak RSS (VmHWM, from /proc/PID/status sampled while running, and getrusage's
  ru_maxrss of the child) of the default run and of single cases at two runtimes:
  RSS must not grow with --runtime.
- Start-up to the first I/O on an existing scratch file: strace timestamps from the
  execve to the first read system call (pread64, preadv2, io_submit or io_uring_enter
  with work), over several runs; median reported.

Usage: python3 benchmarks/footprint.py [--binary .build/release/iobench] [--dir DIR]
"""
import argparse, json, os, re, resource, statistics, subprocess, sys, tempfile, time

def peak_rss_kib(cmd):
    """Runs cmd, returns (exit code, peak RSS in KiB from the child's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: run each measured
    # command in a fresh Python child so the value is this command's own.
    return p.returncode, max(after, before)

def rss_of(cmd):
    code = ("import resource,subprocess,sys;"
            "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code] + cmd, capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])

def startup_ms(binary, target, runs):
    times = []
    for _ in range(runs):
        with tempfile.NamedTemporaryFile(suffix=".strace") as log:
            subprocess.run(["strace", "-f", "-ttt", "-o", log.name, "-e",
                            "trace=execve,pread64,preadv2,io_submit,io_uring_enter",
                            binary, "run", "--target", target, "--engine", "psync",
                            "--runtime", "100ms", "--ramp-time", "0", "--no-progress"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t_exec = None
            reads = []
            for line in open(log.name):
                m = re.match(r"\d+\s+(\d+\.\d+)\s+(\w+)\(", line)
                if not m:
                    continue
                t, call = float(m.group(1)), m.group(2)
                if call == "execve" and t_exec is None:
                    t_exec = t
                elif call == "pread64" and t_exec is not None:
                    reads.append(t)
            # Opening the target reads its first and last 4 KiB (recognising iobench's
            # stamp); the run's first O_DIRECT read is the third pread64.
            t_io = reads[2] if len(reads) > 2 else None
            if t_exec and t_io:
                times.append((t_io - t_exec) * 1000)
    return times

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/iobench")
    ap.add_argument("--dir", default=os.environ.get("IOBENCH_DIR", tempfile.gettempdir()))
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    b = os.path.abspath(a.binary)
    scratch = os.path.join(a.dir, "iobench.dat")
    # Make sure the scratch files exist (start-up is measured on an existing file).
    subprocess.run([b, "--dir", a.dir, "--runtime", "100ms", "--ramp-time", "0", "--no-progress"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    report = {"binary": b, "scratch": scratch, "uname": os.uname().release}
    rows = []
    for label, cmd in [
        ("default run, --runtime 1500ms (the default)", [b, "--dir", a.dir, "--no-progress"]),
        ("default run, --runtime 4s", [b, "--dir", a.dir, "--runtime", "4s", "--no-progress"]),
        ("io_uring QD32, 2s", [b, "run", "--target", scratch, "--engine", "io_uring", "--iodepth", "32", "--runtime", "2s", "--no-progress"]),
        ("io_uring QD32, 20s", [b, "run", "--target", scratch, "--engine", "io_uring", "--iodepth", "32", "--runtime", "20s", "--no-progress"]),
        ("io_uring QD32 x2 jobs, --repeat 3, 2s", [b, "run", "--target", scratch, "--engine", "io_uring", "--iodepth", "32", "--numjobs", "2", "--repeat", "3", "--runtime", "2s", "--no-progress"]),
    ]:
        t0 = time.time()
        code, kib = rss_of(cmd)
        rows.append({"case": label, "exit": code, "peak_rss_mib": round(kib / 1024, 1), "seconds": round(time.time() - t0, 1)})
    report["rss"] = rows
    st = startup_ms(b, scratch, a.runs)
    report["startup_to_first_read_ms"] = {"runs": st, "median": statistics.median(st) if st else None}
    print("peak RSS")
    for r in rows:
        print(f"  {r['case']:<45} {r['peak_rss_mib']:6.1f} MiB  (exit {r['exit']}, {r['seconds']} s)")
    if st:
        print(f"start-up to the first read on an existing scratch file: median {statistics.median(st):.1f} ms "
              f"(min {min(st):.1f}, max {max(st):.1f}, {len(st)} runs, under strace)")
    out = os.path.join(os.path.dirname(__file__), "results", "footprint-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + ".json")
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print("saved", out)

if __name__ == "__main__":
    main()
