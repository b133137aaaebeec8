#!/usr/bin/env python3
"""hostile.py: the hostile texts of tests/e2e/88_exec_send.sh.

  hostile.py sql TMP CONN        prints the INSERTs (one text per recipient
                                 +1555010000N) and writes TMP/expected/N
  hostile.py check TMP OUT ID N  compares what record.py got for message ID
                                 (attempt 1) with text N: the 5th argument,
                                 SMSPOOL_TEXT and the stdin JSON's "text";
                                 prints "ok" or what differs
"""
import json
import os
import sys


def texts(tmp):
    pwn = os.path.join(tmp, "PWNED")
    return [
        "it's \"quoted\" and 'single' and \\backslash\\",
        "$(touch %s1) and `touch %s2` and ; touch %s3 | cat && echo & > %s4" % (pwn, pwn, pwn, pwn),
        "line one\nline two\r\nthree\ttab\n",
        "{recipient} {{text}} %s %n ${HOME} $PATH * ?",
        "émoji 😀 and 中文 and Ελληνικά",
        "-n",
        "--help",
        " leading and trailing spaces ",
        ("$(rm -rf x) `id` " * 1200)[:17000],  # very long: 17,000 characters, 254 UCS-2 parts
    ]


def lit(s):
    return "E'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def main():
    cmd, tmp = sys.argv[1], sys.argv[2]
    ts = texts(tmp)
    if cmd == "sql":
        conn = sys.argv[3]
        os.makedirs(os.path.join(tmp, "expected"), exist_ok=True)
        rows = []
        for n, t in enumerate(ts):
            with open(os.path.join(tmp, "expected", str(n)), "wb") as f:
                f.write(t.encode())
            rows.append("('+1555010000%d', %s, '%s', 'ok', false)" % (n, lit(t), conn))
        print("INSERT INTO smspool.outbox (recipient, body, connection, client_ref, want_report) VALUES\n"
              + ",\n".join(rows) + ";")
        return 0
    out, msg_id, n = sys.argv[3], sys.argv[4], int(sys.argv[5])
    want = ts[n].encode()
    base = os.path.join(out, "%s.1" % msg_id)
    problems = []
    argv = open(base + ".argv", "rb").read().split(b"\0")
    if len(argv) != 5 or argv[4] != want:
        problems.append("argv[4] differs (%d args, %d bytes vs %d)" % (len(argv), len(argv[-1]), len(want)))
    env = dict(kv.split(b"=", 1) for kv in open(base + ".env", "rb").read().split(b"\0") if b"=" in kv)
    if env.get(b"SMSPOOL_TEXT") != want:
        problems.append("SMSPOOL_TEXT differs")
    extra = sorted(k.decode() for k in env if not k.startswith(b"SMSPOOL_")
                   and k not in (b"PATH", b"OUT_DIR", b"HOLD_MS", b"LC_CTYPE", b"PWD"))
    if extra:
        problems.append("unexpected environment: %s" % ",".join(extra))
    stdin = json.loads(open(base + ".stdin", "rb").read())
    if stdin.get("text", "").encode() != want:
        problems.append("stdin text differs")
    if str(stdin.get("id")) != msg_id:
        problems.append("stdin id %r" % stdin.get("id"))
    print("ok" if not problems else "; ".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
