#!/usr/bin/env python3
"""batch.py: the batch send program of tests/e2e/88_exec_batch.sh.

Reads the messages, one JSON object per line, from stdin; appends how many
it got to $OUT_DIR/batches; sleeps HOLD_MS; then prints one result line per
message, depending on its text:
  "reject ..."   {"id": N, "error": "unknown number"}           (rejected)
  "later ..."    {"id": N, "error": "busy", "temporary": true}  (until attempt 2)
  "silent ..."   nothing (the exit status decides: 0, sent with smspool's id)
  anything else  {"id": N, "remote_id": "B<N>"}
"""
import json
import os
import sys
import time

msgs = [json.loads(l) for l in sys.stdin if l.strip()]
with open(os.path.join(os.environ["OUT_DIR"], "batches"), "a") as f:
    f.write("%d\n" % len(msgs))
time.sleep(int(os.environ.get("HOLD_MS", "0")) / 1000.0)
for m in msgs:
    t = m.get("text", "")
    if t.startswith("reject"):
        print(json.dumps({"id": m["id"], "error": "unknown number"}))
    elif t.startswith("later") and m.get("attempt") == 1:
        print(json.dumps({"id": m["id"], "error": "busy", "temporary": True}))
    elif t.startswith("silent"):
        pass
    else:
        print(json.dumps({"id": m["id"], "remote_id": "B%d" % m["id"]}))
