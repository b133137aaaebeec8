#!/usr/bin/env bash
# link-server: an account's access changed in the database ends its live
# link sessions within seconds (issue 17), with the link's goodbye: an
# error frame {code: auth, text: "account changed"}, then the close.  A
# changed password, a disabled account and a changed allowed_addresses each
# end their session; a session of an account whose change does not touch its
# access (a description) stays and answers.  Afterwards the old password is
# refused and the new one logs in (no cached login survives), and the other
# two accounts are refused.  Client: a scripted link client (raw frames over
# TCP, drivers/link/FORMAT.md), so that the time from the UPDATE to the
# close is measured on the client's side.
. "$(dirname "$0")/../lib/e2e.sh"
plan 8

e2e_db smspool_e2e_link_revoke
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('lx1', 'pw1'), ('lx2', 'pw2'), ('lx3', 'pw3'),
	('ly', 'pwy')" || bail "accounts"
add_connection linkd link-server '{"listen": "127.0.0.1:0"}'
add_connection lo loopback '{}'
add_route lo
start_daemon b
wait_for 20 "SELECT state = 'up' AND detail LIKE 'listening on 127.0.0.1:%' FROM smspool.connection_state WHERE name = 'linkd'" ||
	bail "the link-server connection does not listen: $(sql "SELECT state, detail FROM smspool.connection_state")"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'linkd'")

# The client: four sessions log in; once the shell has changed the accounts
# (the file "changed" holds the time of the UPDATE, ms), it waits (at most
# 20 s) for each changed account's session to end and prints what ended it
# and when; then the unchanged session answers a heartbeat, and fresh
# logins are tried.
python3 - "$PORT" "$E2E_TMP/ready" "$E2E_TMP/changed" >"$E2E_TMP/client.out" 2>&1 <<'PY' &
import os, selectors, socket, struct, sys, time
port, ready, changed = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def ld(field, data):  # a length-delimited protobuf field (lengths < 128 here)
    return bytes([field << 3 | 2, len(data)]) + data

def send(s, body):
    s.sendall(struct.pack(">I", len(body)) + body)

def read_frame(s, buf):  # (field number of the Frame body, its bytes); None at EOF
    while len(buf[0]) < 4 or len(buf[0]) < 4 + struct.unpack(">I", buf[0][:4])[0]:
        d = s.recv(4096)
        if not d:
            return None
        buf[0] += d
    n = struct.unpack(">I", buf[0][:4])[0]
    f, buf[0] = buf[0][4:4 + n], buf[0][4 + n:]
    return f[0] >> 3, f[2:]

def strings(msg):  # the string fields of a small message, by number
    out, i = {}, 0
    while i < len(msg):
        tag, n = msg[i], msg[i + 1]
        out[tag >> 3] = msg[i + 2:i + 2 + n].decode()
        i += 2 + n
    return out

def login(user, pw):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(20)
    b = [b""]
    hello = bytes([0x08, 1]) + ld(2, b"revoke-test") + ld(3, user.encode()) + ld(4, pw.encode())
    send(s, ld(1, hello))
    f = read_frame(s, b)
    if f and f[0] == 2:
        return s, b, "ok"
    return s, b, "refused(%s)" % (":".join(strings(f[1]).get(k, "") for k in (1, 2)) if f and f[0] == 10 else "closed")

sess = {u: login(u, p) for u, p in (("lx1", "pw1"), ("lx2", "pw2"), ("lx3", "pw3"), ("ly", "pwy"))}
print("login " + " ".join("%s=%s" % (u, sess[u][2]) for u in sorted(sess)), flush=True)
open(ready, "w").close()
t0 = None
for _ in range(300):
    if os.path.exists(changed) and os.path.getsize(changed) > 0:
        t0 = int(open(changed).read())
        break
    time.sleep(0.1)
sel = selectors.DefaultSelector()
for u in ("lx1", "lx2", "lx3"):
    sel.register(sess[u][0], selectors.EVENT_READ, u)
ended, errors = {}, {}
deadline = time.time() + 20
while len(ended) < 3 and time.time() < deadline:
    for key, _ in sel.select(timeout=0.5):
        u = key.data
        s, b, _ = sess[u]
        f = read_frame(s, b)
        if f is None:
            ended[u] = int(time.time() * 1000)
            sel.unregister(s)
        elif f[0] == 10:
            e = strings(f[1])
            errors[u] = "%s:%s" % (e.get(1, ""), e.get(2, ""))
for u in ("lx1", "lx2", "lx3"):
    print("%s error=%s closed=%s after_ms=%s" % (u, errors.get(u, "-"), u in ended,
          ended[u] - t0 if u in ended and t0 else "-"), flush=True)
s, b, _ = sess["ly"]
send(s, ld(8, bytes([0x08, 7])))  # heartbeat seq 7
f = read_frame(s, b)
print("ly heartbeat_ack=%s" % (f is not None and f[0] == 9), flush=True)
print("relogin lx1_old=%s lx1_new=%s lx2=%s lx3=%s" % (login("lx1", "pw1")[2], login("lx1", "new1")[2],
      login("lx2", "pw2")[2], login("lx3", "pw3")[2]), flush=True)
PY
CL=$!
for ((i = 0; i < 200; i++)); do
	[ -e "$E2E_TMP/ready" ] && break
	sleep 0.1
done
is "$(grep '^login' "$E2E_TMP/client.out")" "login lx1=ok lx2=ok lx3=ok ly=ok" "four accounts logged in"

T0=$(now_ms)
sql "UPDATE smspool.accounts SET description = 'not an access change' WHERE system_id = 'ly';
	UPDATE smspool.accounts SET password = 'new1' WHERE system_id = 'lx1';
	UPDATE smspool.accounts SET enabled = false WHERE system_id = 'lx2';
	UPDATE smspool.accounts SET allowed_addresses = '{10.0.0.0/8}' WHERE system_id = 'lx3'" || bail "UPDATE accounts"
echo "$T0" >"$E2E_TMP/changed"
wait $CL
diag "$(grep -E '^lx[123] ' "$E2E_TMP/client.out" | tr '\n' ';')"
is "$(grep -E '^lx[123] ' "$E2E_TMP/client.out" | sed 's/ after_ms=.*//' | tr '\n' ' ')" \
	"lx1 error=auth:account changed closed=True lx2 error=auth:account changed closed=True lx3 error=auth:account changed closed=True " \
	"password, enabled and allowed_addresses changes: each session gets error{auth, account changed}, then the close" ||
	diag "$(cat "$E2E_TMP/client.out")"
MAX=$(grep -E '^lx[123] ' "$E2E_TMP/client.out" | sed -n 's/.*after_ms=\([0-9]*\)$/\1/p' | sort -n | tail -n 1)
diag "revoke latency (UPDATE -> session closed, client side): max ${MAX:-none} ms"
TS=$(grep 'link_server_closed.*account changed' "${DAEMON_LOG[b]}" | tail -n 1 | sed -n 's/^ts=\([^ ]*\) .*/\1/p')
[ -n "$TS" ] && diag "revoke latency (UPDATE -> last session closed, daemon log): $(($(date -d "$TS" +%s%3N) - T0)) ms"
ok "$([ -n "$MAX" ] && [ "$MAX" -lt 10000 ] && echo t)" "within seconds (${MAX:-no close} ms)"
is "$(grep '^ly ' "$E2E_TMP/client.out")" "ly heartbeat_ack=True" \
	"a change that does not touch access (description) leaves the other account's session open"
is "$(grep -c 'link_server_revoked.*account="lx[123]".*account changed' "${DAEMON_LOG[b]}")" 3 \
	"the server logs each session it ends, with the reason"
is "$(grep '^relogin' "$E2E_TMP/client.out")" \
	"relogin lx1_old=refused(auth:authentication failed) lx1_new=ok lx2=refused(auth:authentication failed) lx3=refused(auth:authentication failed)" \
	"afterwards: the old password is refused, the new one logs in, the disabled account and the address are refused"
ok "$(daemon_alive b && echo t)" "the daemon is alive"
stop_daemon b
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish
