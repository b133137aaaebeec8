#!/usr/bin/env python3
"""record.py: the send program of tests/e2e/88_exec*.sh.

    send_argv: ["tests/lib/exec/record.py", "{id}", "{client_ref}", "{recipient}", "{text}"]

Writes what it got into $OUT_DIR: ID.A.argv (arguments, NUL-separated),
ID.A.stdin, ID.A.env (environment, NUL-separated), A being the attempt, and
its pid (and those of the processes it starts) to ID.A.pids.  It counts the
programs running at once in $OUT_DIR/running (under a lock) and keeps the
highest count in $OUT_DIR/max_running.  Then it behaves as the client_ref
says:
  ok            sleeps HOLD_MS (environment, default 0) and prints R<id>
  hang-once     on attempt 1 starts a grandchild and both sleep an hour
                (killed at timeout_ms); later attempts: ok
  crash-once    on attempt 1 kills itself with SIGSEGV; later: ok
  flood         prints F<id>, then 20 MB more on stdout and 20 MB on stderr; exit 0
  exit3         "invalid destination" on stderr, exit 3 (rejected)
  tempfail-once exit 75 with "busy, try later" on attempt 1; later: ok
  noid          exit 0 with nothing on stdout
  orphan        starts a grandchild that keeps stdout open for an hour, exits 0
"""
import fcntl
import os
import signal
import subprocess
import sys
import time

out = os.environ["OUT_DIR"]
msg_id, mode = sys.argv[1], sys.argv[2]
attempt = os.environ.get("SMSPOOL_ATTEMPT", "0")
base = os.path.join(out, "%s.%s" % (msg_id, attempt))

with open(base + ".argv", "wb") as f:
    f.write(b"\0".join(os.fsencode(a) for a in sys.argv))
with open(base + ".stdin", "wb") as f:
    f.write(sys.stdin.buffer.read())
with open(base + ".env", "wb") as f:
    f.write(b"\0".join(os.fsencode(k) + b"=" + os.fsencode(v) for k, v in sorted(os.environ.items())))
with open(base + ".pids", "a") as f:
    f.write("%d\n" % os.getpid())


def count(delta):
    with open(os.path.join(out, "lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        p = os.path.join(out, "running")
        n = int(open(p).read() or 0) if os.path.exists(p) else 0
        n += delta
        open(p, "w").write(str(n))
        m = os.path.join(out, "max_running")
        old = int(open(m).read() or 0) if os.path.exists(m) else 0
        if n > old:
            open(m, "w").write(str(n))


count(1)
try:
    first = attempt == "1"
    if mode == "hang-once" and first:
        child = subprocess.Popen(["sleep", "3600"])
        with open(base + ".pids", "a") as f:
            f.write("%d\n" % child.pid)
        time.sleep(3600)
    if mode == "crash-once" and first:
        count(-1)
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "tempfail-once" and first:
        sys.stderr.write("busy, try later\n")
        count(-1)
        sys.exit(75)
    if mode == "exit3":
        sys.stderr.write("invalid destination\nsecond line\n")
        count(-1)
        sys.exit(3)
    if mode == "noid":
        count(-1)
        sys.exit(0)
    if mode == "flood":
        sys.stdout.write("F%s\n" % msg_id)
        block = "x" * 65535 + "\n"
        for _ in range(320):
            sys.stdout.write(block)
            sys.stderr.write(block)
        sys.stdout.flush()
        count(-1)
        sys.exit(0)
    if mode == "orphan":
        child = subprocess.Popen(["sleep", "3600"], stdout=sys.stdout, start_new_session=False)
        with open(base + ".pids", "a") as f:
            f.write("%d\n" % child.pid)
        sys.stdout.write("O%s\n" % msg_id)
        sys.stdout.flush()
        count(-1)
        os._exit(0)
    time.sleep(int(os.environ.get("HOLD_MS", "0")) / 1000.0)
    sys.stdout.write("R%s\n" % msg_id)
finally:
    pass
count(-1)
