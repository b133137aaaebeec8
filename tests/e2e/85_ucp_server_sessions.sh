#!/usr/bin/env bash
# The ucp-server with 200 sessions at once: 200 clients log in (op 60) and
# submit one op 51 each while one more client logs in, submits 50 and never
# reads its answers.  Every one of the 200 gets its ACK (SM = AdC:SCTS),
# every message becomes an outbox row, and the daemon stays up.
. "$(dirname "$0")/../lib/e2e.sh"
plan 5

e2e_db smspool_e2e_ucp_sessions
# max_binds 0: the 200 sessions are bound at the same time (the default is 10)
sql "INSERT INTO smspool.accounts (system_id, password, max_binds) VALUES ('many', 'pw', 0)" || bail "account"
add_connection ucpd ucp-server '{"listen": "127.0.0.1:0", "login_timeout_s": 60}'
add_connection lo loopback '{}'
add_route lo
start_daemon s
pid=${DAEMON_PID[s]}
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'ucpd'" || bail "ucp-server not up"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucpd'")

python3 - "$PORT" >"$E2E_TMP/clients.out" 2>&1 <<'PY'
import socket, sys, threading, time
port = int(sys.argv[1])

def frame(trn, o_r, ot, fields):
    body = "%02d/%05d/%s/%02d/%s/" % (trn, 0, o_r, ot, "/".join(fields))
    body = "%02d/%05d/%s/%02d/%s/" % (trn, len(body) + 2, o_r, ot, "/".join(fields))
    return b"\x02" + body.encode() + ("%02X" % (sum(body.encode()) & 0xFF)).encode() + b"\x03"

def read_frame(s, buf):
    while b"\x03" not in buf[0]:
        d = s.recv(4096)
        if not d:
            raise EOFError
        buf[0] += d
    i = buf[0].index(b"\x03")
    f, buf[0] = buf[0][:i + 1], buf[0][i + 1:]
    return f[f.index(b"\x02") + 1:-1].decode()

def login(s, buf):
    s.sendall(frame(0, "O", 60, ["many", "6", "5", "1", b"pw".hex().upper(), "", "0100", "", "", "", "", ""]))
    return read_frame(s, buf).split("/")[4] == "A"

def submit(trn, adc, text):
    f = [""] * 33
    f[0], f[1], f[18], f[20] = adc, "12345", "3", text.encode().hex().upper()
    return frame(trn, "O", 51, f)

# the client that never reads
idle = socket.create_connection(("127.0.0.1", port))
ib = [b""]
assert login(idle, ib)
for i in range(50):
    idle.sendall(submit(i, "1555900%04d" % i, "unread %d" % i))

results = []
lock = threading.Lock()
def client(n):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(60)
        b = [b""]
        if not login(s, b):
            raise RuntimeError("login refused")
        s.sendall(submit(1, "1555800%04d" % n, "session %d" % n))
        parts = read_frame(s, b).split("/")
        ok = parts[4] == "A" and parts[6].startswith("1555800%04d:" % n) and len(parts[6]) == 11 + 1 + 12
        with lock:
            results.append((ok, None if ok else "/".join(parts)))
        s.close()
    except Exception as e:
        with lock:
            results.append((False, repr(e)))

threads = [threading.Thread(target=client, args=(n,)) for n in range(200)]
for t in threads:
    t.start()
for t in threads:
    t.join()
good = sum(1 for ok, _ in results if ok)
print("acks=%d" % good)
for ok, why in results:
    if not ok:
        print("bad: %s" % why)
idle.close()
PY
is "$(grep -c '^acks=200$' "$E2E_TMP/clients.out")" 1 "200 sessions at once: every op 51 is acknowledged with AdC:SCTS" ||
	diag "$(head -20 "$E2E_TMP/clients.out")"
is "$(grep -c 'ucp_server_logged_in' "${DAEMON_LOG[s]}")" 201 "201 logins"
if wait_for 30 "SELECT count(*) = 200 FROM smspool.outbox WHERE account = 'many' AND recipient LIKE '1555800%'"; then
	pass "200 outbox rows of the account"
else
	fail "200 outbox rows of the account" \
		"got: $(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'many' AND recipient LIKE '1555800%'")"
fi
ok "$(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0) == 1" "the daemon still runs"
stop_daemon s
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish
