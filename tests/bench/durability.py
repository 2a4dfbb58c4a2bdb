#!/usr/bin/env python3
"""Interleaved benchmark of scoord's durability levels (docs/reliability.md, "Durability levels").

Workload: 20,000 write() calls of 100 bytes to one file with an fsync() after every 100 writes
(200 fsyncs), on ext4 (the journal beside it, on the same disk). Runs bare, process, sync-points,
strict, bare, process, ... after a warm-up, and prints the median wall time of each and its ratio to
bare. Usage (from the repository root):

    python3 tests/bench/durability.py [--runs N] [--scoord PATH]

Without --scoord it publishes scoord (Release) into artifacts/bench-scoord first.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEVELS = ["process", "sync-points", "strict"]
APP = ("import os\nfd=os.open('out', os.O_WRONLY|os.O_CREAT|os.O_TRUNC, 0o644)\nb=b'x'*100\n"
       "for i in range(20000):\n    os.write(fd, b)\n    if i % 100 == 99:\n        os.fsync(fd)\n")


def publish():
    out = os.path.join(ROOT, "artifacts", "bench-scoord")
    subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "Scoord.Cli"), "-c", "Release",
                    "-o", out, "--nologo", "-v", "q"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "scoord")


def timed(cmd, cwd, env):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scoord")
    args = ap.parse_args()
    scoord = os.path.abspath(args.scoord) if args.scoord else publish()
    base = tempfile.mkdtemp(prefix="scoord-dur-", dir=os.path.join(ROOT, "artifacts"))
    times = {name: [] for name in ["bare"] + LEVELS}
    try:
        for run in range(args.runs + 1):  # run 0 is the warm-up
            for name in ["bare"] + LEVELS:
                work = os.path.join(base, name)
                shutil.rmtree(work, ignore_errors=True)
                os.makedirs(work)
                env = dict(os.environ, SCOORD_JOURNAL=os.path.join(work, ".j"))
                if name == "bare":
                    cmd = ["python3", "-c", APP]
                else:
                    cmd = [scoord, "run", "--durability", name, "--", "python3", "-c", APP]
                t = timed(cmd, work, env)
                if run > 0:
                    times[name].append(t)
        bare = statistics.median(times["bare"])
        print(f"{'level':<12} {'median s':>9} {'x bare':>7}   runs")
        for name in ["bare"] + LEVELS:
            m = statistics.median(times[name])
            print(f"{name:<12} {m:>9.3f} {m / bare:>7.1f}   " + " ".join(f"{x:.2f}" for x in times[name]))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
