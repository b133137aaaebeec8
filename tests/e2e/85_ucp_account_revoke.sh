#!/usr/bin/env bash
# ucp-server: a changed password ends the account's logged-in sessions
# within seconds (issue 17; EMI has no logout from the SMSC, so the session
# is closed), while another account's session stays and submits; the old
# password is refused afterwards and the new one logs in.  Client: a scripted
# EMI client (raw frames over TCP).
. "$(dirname "$0")/../lib/e2e.sh"
plan 5

e2e_db smspool_e2e_ucp_revoke
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('u1', 'pw1'), ('u2', 'pw2')" || bail "accounts"
add_connection ucpd ucp-server '{"listen": "127.0.0.1:0"}'
add_connection lo loopback '{}'
add_route lo
start_daemon s
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'ucpd'" || bail "ucp-server not up"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucpd'")

python3 - "$PORT" "$E2E_TMP/ready" "$E2E_TMP/changed" >"$E2E_TMP/clients.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, ready, changed = int(sys.argv[1]), sys.argv[2], sys.argv[3]

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

def login(user, pw):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(20)
    b = [b""]
    s.sendall(frame(0, "O", 60, [user, "6", "5", "1", pw.encode().hex().upper(), "", "0100", "", "", "", "", ""]))
    return s, b, read_frame(s, b).split("/")[4] == "A"

def submit(s, b, trn, adc, text):
    f = [""] * 33
    f[0], f[1], f[18], f[20] = adc, "12345", "3", text.encode().hex().upper()
    s.sendall(frame(trn, "O", 51, f))
    return read_frame(s, b).split("/")[4] == "A"

s1, b1, ok1 = login("u1", "pw1")
s2, b2, ok2 = login("u2", "pw2")
print("login u1=%s u2=%s" % (ok1, ok2), flush=True)
open(ready, "w").close()
for _ in range(200):
    if os.path.exists(changed):
        break
    time.sleep(0.1)
t0 = time.time()
try:
    closed = s1.recv(4096) == b""
except socket.timeout:
    closed = False
print("u1 closed=%s after_ms=%d" % (closed, (time.time() - t0) * 1000), flush=True)
print("u2 submit=%s" % submit(s2, b2, 1, "15550001", "still here"), flush=True)
print("relogin old=%s" % login("u1", "pw1")[2], flush=True)
print("relogin new=%s" % login("u1", "new1")[2], flush=True)
PY
CL=$!
for ((i = 0; i < 200; i++)); do
	[ -e "$E2E_TMP/ready" ] && break
	sleep 0.1
done
is "$(grep '^login' "$E2E_TMP/clients.out")" "login u1=True u2=True" "both accounts logged in"
sql "UPDATE smspool.accounts SET password = 'new1' WHERE system_id = 'u1'" || bail "UPDATE"
touch "$E2E_TMP/changed"
wait $CL
like "$(grep '^u1 closed' "$E2E_TMP/clients.out")" '^u1 closed=True after_ms=[0-9]+$' \
	"the changed account's session is closed by the server within seconds" || diag "$(cat "$E2E_TMP/clients.out")"
is "$(grep '^u2 submit' "$E2E_TMP/clients.out")" "u2 submit=True" "the other account's session stays and submits"
is "$(grep '^relogin' "$E2E_TMP/clients.out" | tr '\n' ' ')" "relogin old=False relogin new=True " \
	"afterwards the old password is refused and the new one logs in"
stop_daemon s
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish
