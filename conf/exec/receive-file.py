#!/usr/bin/env python3
"""receive-file.py: an exec connection's receiver that follows a file.

    "receive_argv": ["conf/exec/receive-file.py", "/var/spool/sms-in/inbox.jsonl"]

FILE holds one JSON object per line, each an inbound text or a delivery
report as smspool's exec connection reads them, each with an "id":

    {"type": "inbound", "id": "in-1", "from": "+4917612345678", "to": "12345", "text": "Hi"}
    {"type": "report", "id": "dr-1", "remote_id": "X42", "state": "delivered"}

Lines appended to FILE are sent to smspool (stdout) as they come.  smspool
answers on stdin with {"ack": ID} once a line is committed (or skipped, with
an "error"), or {"nack": ID} when it could not be stored; the ids it
acknowledged are appended to STATE (FILE.acked by default), so that after a
restart only what smspool has not acknowledged is sent again.  A nacked line
is sent again a second later.  End of stdin (smspool stopping) ends it.
EMIT_DELAY_MS (environment) slows the output down, for tests.
"""
import json
import os
import select
import sys
import time


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: receive-file.py FILE [STATE]", file=sys.stderr)
        return 2
    path = sys.argv[1]
    state_path = sys.argv[2] if len(sys.argv) == 3 else path + ".acked"
    delay = int(os.environ.get("EMIT_DELAY_MS", "0")) / 1000.0
    acked = set()
    if os.path.exists(state_path):
        with open(state_path, encoding="utf-8") as f:
            acked = {line.rstrip("\n") for line in f if line.strip()}
    state = open(state_path, "a", encoding="utf-8")
    src = open(path, "a+b")
    src.seek(0)
    partial = b""
    sent_by_line = {}  # our output line number -> key (for acks by line number)
    waiting = {}  # key -> raw line, sent and not acknowledged
    resend = []  # (when, key)
    out_line = 0
    inbuf = b""
    stdin_fd = sys.stdin.fileno()
    os.set_blocking(stdin_fd, False)

    def emit(key, raw):
        nonlocal out_line
        out_line += 1
        sent_by_line[out_line] = key
        waiting[key] = raw
        sys.stdout.buffer.write(raw + b"\n")
        sys.stdout.buffer.flush()
        if delay:
            time.sleep(delay)

    def answer(msg):
        try:
            a = json.loads(msg)
        except ValueError:
            return
        for verb in ("ack", "nack"):
            if verb not in a:
                continue
            v = a[verb]
            key = json.dumps(v)
            if key not in waiting and isinstance(v, int) and v in sent_by_line:
                key = sent_by_line[v]  # a line without an id: acknowledged by line number
            raw = waiting.pop(key, None)
            if raw is None:
                continue
            if verb == "ack":
                acked.add(key)
                state.write(key + "\n")
                state.flush()
            else:
                resend.append((time.monotonic() + 1.0, key, raw))

    lineno = 0
    while True:
        r, _, _ = select.select([stdin_fd], [], [], 0.1)
        if r:
            chunk = os.read(stdin_fd, 65536)
            if not chunk:
                return 0  # smspool closed our stdin: it is stopping
            inbuf += chunk
            while b"\n" in inbuf:
                msg, inbuf = inbuf.split(b"\n", 1)
                answer(msg)
        now = time.monotonic()
        for item in [x for x in resend if x[0] <= now]:
            resend.remove(item)
            emit(item[1], item[2])
        data = src.read()
        if data:
            partial += data
            while b"\n" in partial:
                raw, partial = partial.split(b"\n", 1)
                lineno += 1
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                    key = json.dumps(obj["id"]) if isinstance(obj, dict) and "id" in obj else None
                except ValueError:
                    key = None
                if key is None:
                    key = "line:%d" % lineno  # smspool acknowledges it by our line number
                if key in acked or key in waiting:
                    continue
                emit(key, raw)


if __name__ == "__main__":
    sys.exit(main())
