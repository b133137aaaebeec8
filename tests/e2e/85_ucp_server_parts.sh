#!/usr/bin/env bash
# The ucp-server joins multipart submits (op 51, UDH in XSer 01) into ONE
# outbox message.  A scripted client logs in and sends:
# - a 3-part UCS-2 text, parts out of order, then op 31: the parts are held
#   until the set is complete, so the op 31 answer comes first; then each
#   part is ACKed with SM = AdC:SCTS, a different SCTS per part; the row
#   holds the whole text; the delivered row's report comes back as 3 op 53,
#   one per part's SCTS (all 3 at once, although the window is 2);
# - part 1 of a set of 2 that never completes: NACK 04 after
#   reassembly_timeout_s, nothing stored;
# - 4 parts of a set of 6 with reassembly_max_parts 3: the 4th is NACKed
#   04 at once (the cap), the 3 held ones after the timeout;
# - from a second session, part 1 of 2, then the client goes away: nothing
#   stored, the daemon lives on and exits 0.
. "$(dirname "$0")/../lib/e2e.sh"
plan 11

e2e_db smspool_e2e_ucp_parts
sql "INSERT INTO smspool.accounts (system_id, password) VALUES ('parts', 'pw')" || bail "account"
add_connection ucpd ucp-server \
	'{"listen": "127.0.0.1:0", "reassembly_timeout_s": 2, "reassembly_max_parts": 3, "window": 2}'
add_connection emu emulator '{"report_delay_ms": 100}'
add_route emu
start_daemon s
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'ucpd'" || bail "ucp-server not up"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucpd'")

python3 - "$PORT" >"$E2E_TMP/client.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])

def frame(trn, o_r, ot, fields):
    body = "%02d/%05d/%s/%02d/%s/" % (trn, 0, o_r, ot, "/".join(fields))
    body = "%02d/%05d/%s/%02d/%s/" % (trn, len(body) + 2, o_r, ot, "/".join(fields))
    return b"\x02" + body.encode() + ("%02X" % (sum(body.encode()) & 0xFF)).encode() + b"\x03"

buf = [b""]
def read_frame(s):
    while b"\x03" not in buf[0]:
        d = s.recv(4096)
        if not d:
            raise EOFError
        buf[0] += d
    i = buf[0].index(b"\x03")
    f, buf[0] = buf[0][:i + 1], buf[0][i + 1:]
    return f[f.index(b"\x02") + 1:-1].decode().split("/")

def part(trn, adc, ref, total, seq, data, nrq="1"):
    f = [""] * 33
    f[0], f[1], f[3] = adc, "12345", nrq
    f[18], f[19], f[20] = "4", str(8 * len(data)), data.hex().upper()
    udh = bytes([5, 0, 3, ref, total, seq])
    f[30] = "01%02X%s020108" % (len(udh), udh.hex().upper())
    return frame(trn, "O", 51, f)

s = socket.create_connection(("127.0.0.1", port))
s.settimeout(30)
s.sendall(frame(0, "O", 60, ["parts", "6", "5", "1", b"pw".hex().upper(), "", "0100", "", "", "", "", ""]))
print("login=" + read_frame(s)[4])

text = "Ünïcode ✓ " * 20  # 200 characters: 3 UCS-2 parts of 67
chunks = [text[i:i + 67].encode("utf-16-be") for i in range(0, len(text), 67)]
assert len(chunks) == 3
s.sendall(part(1, "4915550004001", 0x42, 3, 2, chunks[1]))
s.sendall(part(2, "4915550004001", 0x42, 3, 1, chunks[0]))
s.sendall(frame(3, "O", 31, ["parts", "0539"]))
r = read_frame(s)
print("first_answer=%s/%s" % (r[3], r[4]))  # 31/A: the parts are held
s.sendall(part(4, "4915550004001", 0x42, 3, 3, chunks[2]))
acks = {}
for _ in range(3):
    r = read_frame(s)
    acks[int(r[0])] = (r[3], r[4], r[6])
print("acks=" + " ".join("%d:%s/%s/%s" % (t, *acks[t]) for t in sorted(acks)))
sms = sorted(acks[t][2].split(":")[1] for t in acks if acks[t][1] == "A")
print("scts_distinct=%d" % len(set(sms)))
print("text_len=%d" % len(text))

# The 3 op 53 notifications (ACKed by us).
notes = []
deadline = time.time() + 30
while len(notes) < 3 and time.time() < deadline:
    r = read_frame(s)
    if r[2] == "O" and r[3] == "53":
        notes.append(r[4 + 14])  # SCTS
        s.sendall(frame(int(r[0]), "R", 53, ["A", "", ""]))
print("notes_match=%s" % (sorted(notes) == sms))

# An incomplete set: NACK 04 after reassembly_timeout_s (2 s).
t0 = time.time()
s.sendall(part(5, "4915550004002", 0x43, 2, 1, "lonely".encode("utf-16-be")))
r = read_frame(s)
print("incomplete=%s/%s/%s/%s waited=%d" % (r[0], r[3], r[4], r[5], time.time() - t0 >= 1.5))

# The cap: 3 parts held, the 4th refused at once, the 3 then time out.
for i in range(4):
    s.sendall(part(10 + i, "4915550004003", 0x44, 6, i + 1, ("p%d" % i).encode("utf-16-be")))
r = read_frame(s)
print("capped=%s/%s/%s" % (r[0], r[4], r[5]))
later = sorted(read_frame(s)[0] + "/" + "N" for _ in range(3))
print("expired=" + " ".join(later))

# A client gone with a part held.
g = socket.create_connection(("127.0.0.1", port))
g.settimeout(30)
buf[0] = b""
g.sendall(frame(0, "O", 60, ["parts", "6", "5", "1", b"pw".hex().upper(), "", "0100", "", "", "", "", ""]))
print("login2=" + read_frame(g)[4])
g.sendall(part(1, "4915550004004", 0x45, 2, 1, "gone".encode("utf-16-be")))
g.close()
s.close()
PY
diag "$(cat "$E2E_TMP/client.out")"
is "$(grep '^login=' "$E2E_TMP/client.out")" "login=A" "op 60 ACKed"
is "$(grep '^first_answer=' "$E2E_TMP/client.out")" "first_answer=31/A" \
	"parts of an incomplete set are held: the op 31 sent after them is answered first"
like "$(grep '^acks=' "$E2E_TMP/client.out")" \
	'^acks=1:51/A/4915550004001:[0-9]{12} 2:51/A/4915550004001:[0-9]{12} 4:51/A/4915550004001:[0-9]{12}$' \
	"each part ACKed after the commit with SM = AdC:SCTS"
is "$(grep '^scts_distinct=' "$E2E_TMP/client.out")" "scts_distinct=3" "a different SCTS per part"
TLEN=$(sed -n 's/^text_len=//p' "$E2E_TMP/client.out")
is "$(sql "SELECT count(*) || ':' || min(char_length(body)) || ':' || min(parts) || ':' || min(encoding) || ':' || min(client_parts)
	FROM smspool.outbox WHERE account = 'parts' AND recipient = '4915550004001'")" "1:$TLEN:3:ucs2:3" \
	"one outbox row with the whole text of 3 UCS-2 parts"
is "$(grep '^notes_match=' "$E2E_TMP/client.out")" "notes_match=True" \
	"the delivered row's report came as 3 op 53, one per part's SCTS"
is "$(grep '^incomplete=' "$E2E_TMP/client.out")" "incomplete=05/51/N/04 waited=1" \
	"a set that does not complete is NACKed 04 after reassembly_timeout_s"
like "$(grep -E '^(capped|expired)=' "$E2E_TMP/client.out" | tr '\n' ' ')" \
	'^capped=13/N/04 expired=10/N 11/N 12/N $' \
	"beyond reassembly_max_parts a part is NACKed 04 at once; the held ones after the timeout"
is "$(sql "SELECT count(*) FROM smspool.outbox WHERE account = 'parts'")" 1 "nothing stored from incomplete sets"
wait_log_closed() {
	local end=$(($(now_ms) + 20000))
	while [ "$(grep -c 'ucp_server_closed' "${DAEMON_LOG[s]}")" -lt 2 ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
}
wait_log_closed
is "$(grep '^login2=' "$E2E_TMP/client.out")|$(grep -c 'ucp_server_closed' "${DAEMON_LOG[s]}")|$(sql "SELECT count(*) FROM smspool.outbox WHERE recipient = '4915550004004'")" \
	"login2=A|2|0" "a client gone with a part held: its session closed, nothing stored"
stop_daemon s
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish
