#!/usr/bin/env python3
"""Reproduces a checkpoint barrier that never ends (found while measuring issue 5).

Runs `scoord run -- sh -c 'while [ ! -e go ]; do sleep 0.005; done'` (dash runs `sleep` with
vfork) and sends checkpoint requests on the control socket one after the other. Sooner or later a
request gets no answer: the tracer thread waits in waitpid inside the barrier, the shell is in
wait4 (not stopped), its `sleep` child is held in a ptrace stop. Usage:

    python3 tests/bench/barrier_vfork_hang.py SCOORD [N]

Prints "hang at checkpoint K" (exit 1) or "no hang in N checkpoints" (exit 0).
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time


def main():
    scoord = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    d = tempfile.mkdtemp(prefix="scoord-vfork-", dir="/dev/shm")
    journal = os.path.join(d, "j")
    app = subprocess.Popen([scoord, "--journal", journal, "run", "--", "sh", "-c",
                            f"cd {d}; echo a > a; while [ ! -e go ]; do sleep 0.005; done"])
    sock = os.path.join(journal, "control.sock")
    hung = 0
    try:
        while not (os.path.exists(sock) and os.path.exists(os.path.join(d, "a"))):
            time.sleep(0.05)
        for i in range(n):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(10)
                s.connect(sock)
                payload = struct.pack("<BI", 1, 0)
                s.sendall(struct.pack("<I", len(payload)) + payload)
                try:
                    s.recv(4)
                except socket.timeout:
                    hung = i + 1
                    break
            time.sleep(0.003)
    finally:
        open(os.path.join(d, "go"), "w").close()
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        shutil.rmtree(d, ignore_errors=True)
    print(f"hang at checkpoint {hung}" if hung else f"no hang in {n} checkpoints")
    sys.exit(1 if hung else 0)


if __name__ == "__main__":
    main()
