#!/usr/bin/env python3
"""Interleaved benchmark of scoord against bare runs, an overlay sandbox and strace (issues 5 and 11).

Timed workloads run as A B C D E A B C D E ... (bare, overlay, strace, scoord --no-fastpath, scoord)
after one warm-up round, with the workload's state reset (untimed) before every run, and print medians
and ratios. The overlay column is the peer a user might pick instead of scoord: the same workload in a
private mount namespace with an overlayfs over its directory (upper and work directories beside it, as
`try` does; needs root). Measured workloads (journal size, undo size, rollback, checkpoint barrier) print
their own figures.
Usage (from the repository root):

    python3 tests/bench/bench.py [--runs N] [--workloads all | tar-tmpfs,writes,...]

It publishes scoord (Release) into artifacts/bench-scoord first (--scoord PATH skips that).
The journal lives on the same file system as the workload (/dev/shm for the tmpfs ones, so that
tmpfs workloads see no disk noise; the system temporary directory for tar-disk, sqlite-disk).
At the end it prints markdown tables that can be pasted into docs/performance.md. Compare
ratios from one run only: the machine is a noisy 2-core VM.
"""
import argparse
import datetime
import json
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The syscalls scoord stops at for these workloads, for a like-for-like strace.
STRACE_SET = ("open,openat,openat2,creat,write,pwrite64,writev,pwritev,pwritev2,truncate,ftruncate,"
              "fallocate,unlink,unlinkat,rmdir,rename,renameat,renameat2,mkdir,mkdirat,mknod,mknodat,"
              "link,linkat,symlink,symlinkat,chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,"
              "utime,utimes,utimensat,futimesat,setxattr,lsetxattr,fsetxattr,removexattr,"
              "lremovexattr,fremovexattr,copy_file_range,sendfile,splice")
MIB = 1024 * 1024


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def publish():
    out = os.path.join(ROOT, "artifacts", "bench-scoord")
    subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "Scoord.Cli"), "-c", "Release",
                    "-o", out, "--nologo", "-v", "q"], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "scoord")


def timed(cmd, cwd=None):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    return time.perf_counter() - t0


def dir_bytes(path):
    """Apparent size of every file under path (du -sb)."""
    total = 0
    for parent, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(parent, f)).st_size
            except FileNotFoundError:
                pass
    return total


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


# ---------------------------------------------------------------------------------------------
# Timed workloads: prepare(base) -> Workload with the command, a per-run reset, bytes mutated.


class Workload:
    def __init__(self, cmd, reset=None, cwd=None, mutated=None):
        self.cmd = cmd
        self.reset = reset or (lambda: None)
        self.cwd = cwd
        self.mutated = mutated  # bytes the workload writes, for journal bytes per MiB


def include_tarball(base):
    tarball = os.path.join(base, "include.tar")
    if not os.path.exists(tarball):
        subprocess.run(["tar", "-cf", tarball, "-C", "/usr", "include"], check=True)
    return tarball


def tar_workload(base):
    """(a) tar -xf of a tarball of /usr/include, then rm -rf of the tree."""
    tarball = include_tarball(base)
    with tarfile.open(tarball) as t:
        content = sum(m.size for m in t.getmembers() if m.isfile())
    work = os.path.join(base, "w")
    os.makedirs(work, exist_ok=True)
    return Workload(["sh", "-c", f"cd {work} && tar -xf {tarball} && rm -rf include"],
                    reset=lambda: shutil.rmtree(os.path.join(work, "include"), ignore_errors=True),
                    mutated=content)


def writes_workload(base):
    """(b) 100,000 write() calls of 100 bytes to one file."""
    target = os.path.join(base, "writes.out")
    code = ("import os\nfd=os.open(%r, os.O_WRONLY|os.O_CREAT|os.O_TRUNC, 0o644)\nb=b'x'*100\n"
            "for _ in range(100000): os.write(fd, b)\nos.close(fd)\n") % target
    return Workload(["python3", "-c", code], mutated=100000 * 100)


BUILD_FILES = 30
BUILD_HEADERS = 4


def build_workload(base):
    """(c) make -j2 of a generated C project (30 .c files, 4 headers), from a clean tree."""
    src = os.path.join(base, "proj")
    os.makedirs(src, exist_ok=True)
    rnd = random.Random(5)
    for h in range(BUILD_HEADERS):
        with open(os.path.join(src, f"util{h}.h"), "w") as f:
            f.write(f"#ifndef UTIL{h}_H\n#define UTIL{h}_H\n#include <stdint.h>\n#include <string.h>\n")
            f.write(f"struct rec{h} {{ uint64_t key; uint32_t n; char name[32]; double w[8]; }};\n")
            f.write(f"static inline uint64_t mix{h}(uint64_t x) {{ x ^= x >> 33; x *= {rnd.randrange(1, 2**61)}ULL; "
                    f"return x ^ (x >> 29); }}\n#endif\n")
    for i in range(BUILD_FILES):
        with open(os.path.join(src, f"m{i:02d}.c"), "w") as f:
            f.write("#include <stdio.h>\n#include <stdlib.h>\n")
            for h in range(BUILD_HEADERS):
                f.write(f'#include "util{h}.h"\n')
            for k in range(8):
                h = k % BUILD_HEADERS
                f.write(f"static int cmp{k}(const void *a, const void *b) {{\n"
                        f"  const struct rec{h} *x = a, *y = b;\n"
                        f"  return (mix{h}(x->key) > mix{h}(y->key)) - (mix{h}(x->key) < mix{h}(y->key));\n}}\n")
                f.write(f"double f{i}_{k}(struct rec{h} *r, int n) {{\n  double s = 0;\n"
                        f"  qsort(r, (size_t)n, sizeof *r, cmp{k});\n"
                        f"  for (int j = 0; j < n; j++) {{\n"
                        f"    for (int q = 0; q < 8; q++) s += r[j].w[q] * (double)(q + {k});\n"
                        f"    if (strlen(r[j].name) > {k % 7}) s -= (double)mix{h}(r[j].key + {i}) / 1e18;\n"
                        f"    r[j].n = (uint32_t)(s * {rnd.randrange(2, 99)});\n  }}\n"
                        f"  snprintf(r[0].name, sizeof r[0].name, \"%d:%d\", {i}, n);\n  return s;\n}}\n")
            if i == 0:
                f.write("int main(void) { printf(\"ok\\n\"); return 0; }\n")
    objs = " ".join(f"m{i:02d}.o" for i in range(BUILD_FILES))
    with open(os.path.join(src, "Makefile"), "w") as f:
        f.write(f"CFLAGS = -O2 -Wall\nOBJS = {objs}\n\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n"
                f"%.o: %.c util0.h util1.h util2.h util3.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\n"
                f"clean:\n\trm -f prog $(OBJS)\n")

    def clean():
        for name in os.listdir(src):
            if name.endswith(".o") or name == "prog":
                os.unlink(os.path.join(src, name))
    return Workload(["make", "-s", "-j2"], reset=clean, cwd=src)


def sqlite_workload(base):
    """(d) sqlite3: 10,000 inserts in transactions of 100, into a fresh database."""
    script = os.path.join(base, "inserts.sql")
    db = os.path.join(base, "bench.db")
    with open(script, "w") as f:
        f.write("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, v INTEGER NOT NULL);\n")
        n = 0
        for _ in range(100):
            f.write("BEGIN;\n")
            for _ in range(100):
                n += 1
                f.write(f"INSERT INTO t(name, v) VALUES ('row-{n:06d}-{n * 7919 % 100003:06d}', {n * 31 % 977});\n")
            f.write("COMMIT;\n")

    def fresh_db():
        for suffix in ("", "-journal", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
    return Workload(["sqlite3", db, f".read {script}"], reset=fresh_db)


FIO_SIZE = 64 * MIB


def fio_workload(base):
    """(e) fio: random 4 KiB overwrites of an existing 64 MiB file, then verification reads."""
    target = os.path.join(base, "fio.dat")
    with open(target, "wb") as f:
        for _ in range(FIO_SIZE // MIB):
            f.write(os.urandom(MIB))
    cmd = ["fio", "--name=overwrite", f"--filename={target}", "--size=64m", "--bs=4k", "--rw=randwrite",
           "--ioengine=psync", "--overwrite=1", "--randrepeat=1", "--verify=crc32c", "--do_verify=1",
           "--verify_state_save=0", "--output=/dev/null"]
    return Workload(cmd, cwd=base, mutated=FIO_SIZE)


def startup_workload(base):
    """(f) scoord run -- true."""
    return Workload(["true"])


def git_workload(base):
    """git clone of a local repository (objects copied, no hard links) and git gc of the clone."""
    src = os.path.join(base, "src.git")
    subprocess.run(["git", "clone", "-q", "--bare", "--no-hardlinks", ROOT, src], check=True)
    dst = os.path.join(base, "clone")
    return Workload(["sh", "-c", f"git clone -q --no-hardlinks {src} {dst} && git -C {dst} gc -q"],
                    reset=lambda: shutil.rmtree(dst, ignore_errors=True))


PYFILES = """import os, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
b = os.urandom(512)
for i in range(1000):
    with open(os.path.join(d, "f%04d.txt" % i), "wb") as f:
        f.write(b)
"""


def pyfiles_workload(base):
    """python3 writing 1,000 small files (512 bytes each)."""
    out = os.path.join(base, "files")
    return Workload(["python3", "-c", PYFILES, out], reset=lambda: shutil.rmtree(out, ignore_errors=True),
                    mutated=1000 * 512)


def cp_workload(base):
    """cp -a of /usr/include."""
    dst = os.path.join(base, "include")
    return Workload(["cp", "-a", "/usr/include", dst], reset=lambda: shutil.rmtree(dst, ignore_errors=True))


# name: (prepare, where, issue 11 target as (kind, limit)); every workload also has "within 2x of the overlay".
TIMED = {
    "tar-tmpfs": (tar_workload, "/dev/shm", ("bare", 3.0)),
    "tar-disk": (tar_workload, None, None),
    "writes": (writes_workload, "/dev/shm", ("bare", 3.0)),
    "build": (build_workload, "/dev/shm", ("bare", 1.1)),
    "sqlite": (sqlite_workload, "/dev/shm", ("bare", 1.5)),
    "sqlite-disk": (sqlite_workload, None, ("bare", 1.5)),
    "fio": (fio_workload, "/dev/shm", ("bare", 2.0)),
    "git": (git_workload, "/dev/shm", None),
    "pyfiles": (pyfiles_workload, "/dev/shm", None),
    "cp": (cp_workload, "/dev/shm", None),
    "startup": (startup_workload, "/dev/shm", ("seconds", 0.150)),
}


def strace_cmd(cmd):
    return ["strace", "-f", "--seccomp-bpf", "-e", "trace=" + STRACE_SET, "-o", "/dev/null"] + cmd


def overlay_cmd(cmd, base, cwd, scratch):
    """The workload in a private mount namespace with an overlayfs over its directory (as `try` does)."""
    upper, work = os.path.join(scratch, "upper"), os.path.join(scratch, "work")
    inner = " ".join(["exec"] + [shlex_quote(c) for c in cmd])
    script = (f"mkdir -p {upper} {work} && mount -t overlay overlay -o lowerdir={base},upperdir={upper},workdir={work} {base}"
              f" && cd {shlex_quote(cwd or os.getcwd())} && {inner}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def run_timed(ctx, name):
    make, where, target = TIMED[name]
    base = tempfile.mkdtemp(prefix="scoord-bench-", dir=where)
    journal = tempfile.mkdtemp(prefix="scoord-bench-journal-", dir=where)
    scratch = tempfile.mkdtemp(prefix="scoord-bench-overlay-", dir=where)
    try:
        w = make(base)

        def scoord_run(extra):
            def run():
                shutil.rmtree(journal, ignore_errors=True)
                t = timed([ctx.scoord, "--journal", journal, "run"] + extra + ["--"] + w.cmd, cwd=w.cwd)
                ctx.journal_bytes[name] = dir_bytes(journal)
                return t
            return run

        def overlay_run():
            fresh_dir(scratch)
            return timed(overlay_cmd(w.cmd, base, w.cwd, scratch), cwd=w.cwd)
        variants = {
            "bare": lambda: timed(w.cmd, cwd=w.cwd),
            "overlay": overlay_run,
            "strace": lambda: timed(strace_cmd(w.cmd), cwd=w.cwd),
            "ptrace": scoord_run(["--no-fastpath"]),
            "scoord": scoord_run([]),
        }
        times = {k: [] for k in variants}
        for i in range(ctx.runs + 1):  # round 0 is the warm-up
            for k, v in variants.items():
                w.reset()
                t = v()
                if i > 0:
                    times[k].append(t)
        med = {k: statistics.median(v) for k, v in times.items()}
        if w.mutated:
            ctx.mutated[name] = w.mutated
        verdicts = []
        if target is not None and target[0] == "bare":
            verdicts.append(f"≤ {target[1]:g}x bare: " + met(med["scoord"] / med["bare"], target[1]))
        elif target is not None:
            verdicts.append(f"≤ {target[1] * 1000:.0f} ms: " + met(med["scoord"], target[1]))
        if name != "startup":
            verdicts.append("≤ 2x overlay: " + met(med["scoord"] / med["overlay"], 2.0))
        verdict = "; ".join(verdicts)
        row = (name, med["bare"], med["overlay"], med["strace"], med["ptrace"], med["scoord"],
               med["scoord"] / med["bare"], med["scoord"] / med["overlay"], med["ptrace"] / med["bare"], verdict)
        ctx.timed_rows.append(row)
        log(f"{name:<12} bare {med['bare']:.3f}  overlay {med['overlay']:.3f}  strace {med['strace']:.3f}  "
            f"ptrace {med['ptrace']:.3f}  scoord {med['scoord']:.3f}  scoord/bare {row[6]:.2f}  "
            f"scoord/overlay {row[7]:.2f}  {verdict}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(journal, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


def met(value, limit, strict=False):
    ok = value < limit if strict else value <= limit
    if ok:
        return "met"
    return f"missed by {(value / limit - 1) * 100:.0f} %"


# ---------------------------------------------------------------------------------------------
# Measured workloads.


def journal_bytes(ctx):
    """Journal directory size per MiB the workload wrote (tar-tmpfs, writes, fio)."""
    for name in ("writes", "tar-tmpfs", "fio"):
        if name not in ctx.journal_bytes:
            make, where, _ = TIMED[name]
            base = tempfile.mkdtemp(prefix="scoord-bench-", dir=where)
            journal = tempfile.mkdtemp(prefix="scoord-bench-journal-", dir=where)
            try:
                w = make(base)
                shutil.rmtree(journal)
                timed([ctx.scoord, "--journal", journal, "run", "--"] + w.cmd, cwd=w.cwd)
                ctx.journal_bytes[name] = dir_bytes(journal)
                ctx.mutated[name] = w.mutated
            finally:
                shutil.rmtree(base, ignore_errors=True)
                shutil.rmtree(journal, ignore_errors=True)
        size, mutated = ctx.journal_bytes[name], ctx.mutated[name]
        what = {"writes": "100,000 × 100 B appends", "tar-tmpfs": "tar -x + rm -rf, file content extracted",
                "fio": "64 MiB random 4 KiB overwrites (pre-images)"}[name]
        ctx.measure_rows.append((f"journal-bytes ({name})",
                                 f"{size / MIB:.1f} MiB journal / {mutated / MIB:.1f} MiB written = "
                                 f"{size / mutated:.2f} MiB per MiB", what, "report", ""))
        log(f"journal-bytes {name}: {size} bytes for {mutated} written ({size / mutated:.2f} per byte)")


REWRITE = """import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(1000):
    os.pwrite(fd, bytes([i % 251]) * (1024 * 1024), 0)
os.close(fd)
"""


def last_checkpoint_undo(ctx, journal):
    out = subprocess.run([ctx.scoord, "--journal", journal, "checkpoints", "--json"], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()
    return json.loads(out[-1])["undo_bytes"]


def undo_rewrite(ctx):
    """Undo bytes for a program that rewrites one 1 MiB region 1000 times within one epoch."""
    base = tempfile.mkdtemp(prefix="scoord-bench-", dir="/dev/shm")
    journal = os.path.join(tempfile.mkdtemp(prefix="scoord-bench-journal-", dir="/dev/shm"), "j")
    try:
        target = os.path.join(base, "region.dat")
        with open(target, "wb") as f:
            f.write(os.urandom(MIB))
        subprocess.run([ctx.scoord, "--journal", journal, "checkpoint"], check=True, stdout=subprocess.DEVNULL)
        t = timed([ctx.scoord, "--journal", journal, "run", "--", "python3", "-c", REWRITE, target])
        undo = last_checkpoint_undo(ctx, journal)
        size = dir_bytes(journal)
        ctx.measure_rows.append(("undo-rewrite", f"{undo / MIB:.3f} MiB undo (journal dir {size / MIB:.1f} MiB)",
                                 "1000 pwrite() of the same 1 MiB, one epoch", "≤ 1.1 MiB",
                                 met(undo / MIB, 1.1)))
        log(f"undo-rewrite: {undo} undo bytes, journal {size} bytes, run {t:.2f} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(os.path.dirname(journal), ignore_errors=True)


def rollback(ctx):
    """scoord rollback of tar-tmpfs's deletion against cp -a of the same tree, interleaved."""
    base = tempfile.mkdtemp(prefix="scoord-bench-", dir="/dev/shm")
    jroot = tempfile.mkdtemp(prefix="scoord-bench-journal-", dir="/dev/shm")
    journal = os.path.join(jroot, "j")
    try:
        tarball = include_tarball(base)
        src = os.path.join(base, "src")
        fresh_dir(src)
        subprocess.run(["tar", "-xf", tarball, "-C", src], check=True)
        expected = sum(len(d) + len(f) for _, d, f in os.walk(os.path.join(src, "include")))
        tree = os.path.join(base, "rb")
        copy = os.path.join(base, "cp")

        def cp_run():
            fresh_dir(copy)
            return timed(["cp", "-a", os.path.join(src, "include"), copy])

        def rollback_run():
            shutil.rmtree(journal, ignore_errors=True)
            fresh_dir(tree)
            subprocess.run(["tar", "-xf", tarball, "-C", tree], check=True)
            subprocess.run([ctx.scoord, "--journal", journal, "checkpoint"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run([ctx.scoord, "--journal", journal, "run", "--", "rm", "-rf",
                            os.path.join(tree, "include")], check=True)
            t = timed([ctx.scoord, "--journal", journal, "rollback", "1"])
            got = sum(len(d) + len(f) for _, d, f in os.walk(os.path.join(tree, "include")))
            if got != expected:
                raise RuntimeError(f"rollback restored {got} entries, expected {expected}")
            return t
        times = {"cp": [], "rollback": []}
        for i in range(ctx.runs + 1):
            c, r = cp_run(), rollback_run()
            if i > 0:
                times["cp"].append(c)
                times["rollback"].append(r)
        cp_med, rb_med = statistics.median(times["cp"]), statistics.median(times["rollback"])
        ctx.measure_rows.append(("rollback", f"{rb_med:.3f} s rollback / {cp_med:.3f} s cp -a = {rb_med / cp_med:.2f}",
                                 f"restore the tar-tmpfs tree ({expected} entries) deleted by rm -rf",
                                 "≤ 2x cp -a", met(rb_med / cp_med, 2.0)))
        log(f"rollback: {rb_med:.3f} s, cp -a {cp_med:.3f} s, ratio {rb_med / cp_med:.2f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(jroot, ignore_errors=True)


WRITERS = """import os, sys, time
n, d = int(sys.argv[1]), sys.argv[2]
stop = os.path.join(d, "stop")
pids = []
for i in range(n):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.path.join(d, "c%d" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        b = b"x" * 64
        k = 0
        while not os.path.exists(stop):
            for _ in range(20):
                os.pwrite(fd, b, (k % 64) * 64)
                k += 1
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
"""


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise RuntimeError("control socket closed")
        buf += chunk
    return buf


def socket_checkpoint(path):
    """One Checkpoint request on the control socket (docs/architecture.md); returns seconds."""
    t0 = time.perf_counter()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        payload = struct.pack("<BI", 1, 0)
        s.sendall(struct.pack("<I", len(payload)) + payload)
        (n,) = struct.unpack("<I", recv_exact(s, 4))
        body = recv_exact(s, n)
    t = time.perf_counter() - t0
    if body[0] != 0x81:
        raise RuntimeError(f"checkpoint refused: {body[5:].decode(errors='replace')}")
    return t


def barrier(ctx):
    """Checkpoint latency from outside while 1, 10, 50 processes loop on small writes."""
    for n in (1, 10, 50):
        base = tempfile.mkdtemp(prefix="scoord-bench-", dir="/dev/shm")
        jroot = tempfile.mkdtemp(prefix="scoord-bench-journal-", dir="/dev/shm")
        journal = os.path.join(jroot, "j")
        app = subprocess.Popen([ctx.scoord, "--journal", journal, "run", "--", "python3", "-c", WRITERS,
                                str(n), base], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            sock = os.path.join(journal, "control.sock")
            while (sum(1 for f in os.listdir(base) if f.startswith("c")) < n or not os.path.exists(sock)):
                if time.time() > deadline or app.poll() is not None:
                    raise RuntimeError("writers did not start")
                time.sleep(0.05)
            time.sleep(0.5)
            sock_times, cli_times = [], []
            for i in range(max(ctx.runs, 5) + 1):  # round 0 is the warm-up
                ts = socket_checkpoint(sock)
                time.sleep(0.1)
                tc = timed([ctx.scoord, "--journal", journal, "checkpoint"])
                time.sleep(0.1)
                if i > 0:
                    sock_times.append(ts)
                    cli_times.append(tc)
            s_med, c_med = statistics.median(sock_times), statistics.median(cli_times)
            verdict = met(s_med, 0.050) if n == 50 else ""
            ctx.measure_rows.append((f"barrier-{n}", f"{s_med * 1000:.1f} ms socket request "
                                     f"(max {max(sock_times) * 1000:.1f}), {c_med * 1000:.0f} ms `scoord checkpoint`",
                                     f"{n} process{'es' if n > 1 else ''} each looping on 64-byte pwrite()",
                                     "≤ 50 ms" if n == 50 else "report", verdict))
            log(f"barrier-{n}: socket {s_med * 1000:.1f} ms (all {[round(x * 1000, 1) for x in sock_times]}), "
                f"cli {c_med * 1000:.0f} ms")
        finally:
            open(os.path.join(base, "stop"), "w").close()
            try:
                app.wait(timeout=60)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(jroot, ignore_errors=True)


def scoord_json(ctx, journal, *args):
    out = subprocess.run([ctx.scoord, "--journal", journal, *args], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def memory_barrier(ctx):
    """Checkpoints with --memory scoord (issue 12) while 1, 10, 50 python3 processes loop on small writes: the
    image's dump time (inside the barrier, as scoord measures it), the request's wall time, and the bytes the
    image added to the journal (new pages + records), for the first image (full) and the later ones (incremental)."""
    for n in (1, 10, 50):
        base = tempfile.mkdtemp(prefix="scoord-bench-", dir="/dev/shm")
        jroot = tempfile.mkdtemp(prefix="scoord-bench-journal-", dir="/dev/shm")
        journal = os.path.join(jroot, "j")
        app = subprocess.Popen([ctx.scoord, "--journal", journal, "run", "--memory", "scoord", "--", "python3", "-c",
                                WRITERS, str(n), base], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 120
            sock = os.path.join(journal, "control.sock")
            while (sum(1 for f in os.listdir(base) if f.startswith("c")) < n or not os.path.exists(sock)):
                if time.time() > deadline or app.poll() is not None:
                    raise RuntimeError("writers did not start")
                time.sleep(0.05)
            time.sleep(0.5)
            rows = []
            for _ in range(max(ctx.runs, 2) + 1):  # the first image is full, the others incremental
                wall = socket_checkpoint(sock)
                last = scoord_json(ctx, journal, "checkpoints", "--json")[-1]["id"]
                img = scoord_json(ctx, journal, "image", "--json", str(last))[0]
                pages = sum(p["content_pages"] for p in img["processes"])
                stored = sum(p["stored_pages"] for p in img["processes"])
                rows.append((wall, img["dump_ns"] / 1e6, img["image_bytes"], pages, stored, len(img["processes"])))
                time.sleep(0.2)
            full, inc = rows[0], rows[1:]
            inc_dump = statistics.median(r[1] for r in inc)
            inc_wall = statistics.median(r[0] for r in inc)
            inc_bytes = statistics.median(r[2] for r in inc)
            inc_stored = statistics.median(r[4] for r in inc)
            ctx.measure_rows.append((f"memory-barrier-{n}",
                                     f"full: {full[1]:.0f} ms dump ({full[0] * 1000:.0f} ms request), {full[2] / MIB:.1f} MiB image, "
                                     f"{full[4]} of {full[3]} pages; incremental (median of {len(inc)}): {inc_dump:.0f} ms dump "
                                     f"({inc_wall * 1000:.0f} ms request), {inc_bytes / 1024:.0f} KiB image, {inc_stored:.0f} pages listed",
                                     f"--memory scoord, {full[5]} python3 processes ({n} looping on 64-byte pwrite())",
                                     "report", ""))
            log(f"memory-barrier-{n}: {rows}")
        finally:
            open(os.path.join(base, "stop"), "w").close()
            try:
                app.wait(timeout=120)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait()
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(jroot, ignore_errors=True)


MEASURED = {
    "journal-bytes": journal_bytes,
    "undo-rewrite": undo_rewrite,
    "rollback": rollback,
    "barrier": barrier,
    "memory-barrier": memory_barrier,
}
ALL = ["tar-tmpfs", "tar-disk", "writes", "build", "sqlite", "sqlite-disk", "fio", "git", "pyfiles", "cp", "startup",
       "journal-bytes", "undo-rewrite", "rollback", "barrier", "memory-barrier"]


class Context:
    def __init__(self, scoord, runs):
        self.scoord = scoord
        self.runs = runs
        self.timed_rows = []
        self.measure_rows = []
        self.journal_bytes = {}
        self.mutated = {}


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024 // 1024
    pretty = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    return f"{pretty}, {os.cpu_count()} cpus ({model}), {mem} GiB RAM, kernel {os.uname().release}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workloads", default="all", help="comma-separated, or all: " + ",".join(ALL))
    ap.add_argument("--scoord", help="use this scoord instead of publishing one")
    args = ap.parse_args()
    names = ALL if args.workloads == "all" else args.workloads.split(",")
    for name in names:
        if name not in TIMED and name not in MEASURED:
            ap.error(f"unknown workload {name}; known: {','.join(ALL)}")
    scoord = os.path.abspath(args.scoord) if args.scoord else publish()  # workloads run in their own cwd
    ctx = Context(scoord, args.runs)
    started = datetime.datetime.now(datetime.timezone.utc)
    load0 = os.getloadavg()[0]
    log(f"machine: {machine()}; load average {load0:.2f}")
    failures = []
    for name in names:
        try:
            if name in TIMED:
                run_timed(ctx, name)
            else:
                MEASURED[name](ctx)
        except Exception as e:  # keep going: one broken workload must not lose the others' figures
            failures.append(f"{name}: {e}")
            log(f"{name}: FAILED: {e}")
    load1 = os.getloadavg()[0]

    print(f"`python3 tests/bench/bench.py {' '.join(sys.argv[1:])}` — {started:%Y-%m-%d %H:%M} UTC, "
          f"{machine()}, load average {load0:.2f} at the start, {load1:.2f} at the end.")
    print()
    if ctx.timed_rows:
        print("| workload | bare s | overlay s | strace s | scoord --no-fastpath s | scoord s | scoord/bare | scoord/overlay | --no-fastpath/bare | issue 11 targets |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in ctx.timed_rows:
            print(f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.2f} | {r[7]:.2f} | {r[8]:.2f} | {r[9]} |")
        print()
    if ctx.measure_rows:
        print("| measure | figure | what | target | result |")
        print("|---|---|---|---|---|")
        for r in ctx.measure_rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} |")
        print()
    for f in failures:
        print(f"FAILED {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
