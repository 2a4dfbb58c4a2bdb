#!/usr/bin/env python3
"""Interleaved benchmark of scoord against bare runs and strace.

Runs each workload as A B C A B C ... (bare, strace, scoord) after a warm-up, and prints
medians and ratios. Usage (from the repository root):

    python3 tests/bench/bench.py [--runs N] [--workloads tar-tmpfs,...]

It publishes scoord (Release) into artifacts/bench-scoord first. Compare ratios from one run
only: the machine is a noisy 2-core VM.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The syscalls scoord stops at for these workloads, for a like-for-like strace.
STRACE_SET = ("open,openat,openat2,creat,write,pwrite64,writev,pwritev,pwritev2,truncate,ftruncate,"
              "fallocate,unlink,unlinkat,rmdir,rename,renameat,renameat2,mkdir,mkdirat,mknod,mknodat,"
              "link,linkat,symlink,symlinkat,chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,"
              "utime,utimes,utimensat,futimesat,setxattr,lsetxattr,fsetxattr,removexattr,"
              "lremovexattr,fremovexattr,copy_file_range,sendfile,splice")


def publish():
    out = os.path.join(ROOT, "artifacts", "bench-scoord")
    subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "Scoord.Cli"), "-c", "Release",
                    "-o", out, "--nologo", "-v", "q"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "scoord")


def tar_workload(base):
    """tar -xf of a tarball of /usr/include, then rm -rf of the tree."""
    tarball = os.path.join(base, "include.tar")
    if not os.path.exists(tarball):
        subprocess.run(["tar", "-cf", tarball, "-C", "/usr", "include"], check=True)
    work = os.path.join(base, "w")
    os.makedirs(work, exist_ok=True)
    return ["sh", "-c", f"cd {work} && tar -xf {tarball} && rm -rf include"]


def writes_workload(base):
    """100,000 write() calls of 100 bytes to one file."""
    target = os.path.join(base, "writes.out")
    code = ("import os\nfd=os.open(%r, os.O_WRONLY|os.O_CREAT|os.O_TRUNC, 0o644)\nb=b'x'*100\n"
            "for _ in range(100000): os.write(fd, b)\nos.close(fd)\n") % target
    return ["python3", "-c", code]


def startup_workload(base):
    return ["true"]


WORKLOADS = {
    "tar-tmpfs": (tar_workload, "/dev/shm"),
    "tar-disk": (tar_workload, None),
    "writes": (writes_workload, "/dev/shm"),
    "startup": (startup_workload, "/dev/shm"),
}


def timed(cmd, env=None):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workloads", default="tar-tmpfs,writes,startup")
    args = ap.parse_args()
    scoord = publish()
    print(f"machine: {os.cpu_count()} cpus, kernel {os.uname().release}")
    print(f"{'workload':<12} {'bare s':>8} {'strace s':>9} {'scoord s':>9} {'scoord/bare':>12} {'scoord/strace':>14}")
    for name in args.workloads.split(","):
        make, where = WORKLOADS[name]
        base = tempfile.mkdtemp(prefix="scoord-bench-", dir=where)
        journal = tempfile.mkdtemp(prefix="scoord-bench-journal-")
        try:
            cmd = make(base)
            variants = {
                "bare": lambda: timed(cmd),
                "strace": lambda: timed(["strace", "-f", "--seccomp-bpf", "-e", "trace=" + STRACE_SET,
                                         "-o", "/dev/null"] + cmd),
                "scoord": lambda: (shutil.rmtree(journal, ignore_errors=True),
                                   timed([scoord, "--journal", journal, "run", "--"] + cmd))[1],
            }
            for v in variants.values():  # warm-up
                v()
            times = {k: [] for k in variants}
            for _ in range(args.runs):
                for k, v in variants.items():
                    times[k].append(v())
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"{name:<12} {med['bare']:8.3f} {med['strace']:9.3f} {med['scoord']:9.3f} "
                  f"{med['scoord'] / med['bare']:12.2f} {med['scoord'] / med['strace']:14.2f}")
            sys.stdout.flush()
        finally:
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(journal, ignore_errors=True)


if __name__ == "__main__":
    main()
