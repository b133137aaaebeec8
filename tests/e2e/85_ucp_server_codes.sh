#!/usr/bin/env bash
# ucp-server, what issue 11 asks of it beyond the submits themselves, with a
# scripted EMI client (raw frames over TCP, written from the specification):
# - op 31 is answered (ACK); an unsupported operation gets NACK 03, a syntax
#   error (Msg not hex; a frame with a field missing) NACK 02, a bad
#   checksum NACK 01, and the session goes on;
# - refusals NACKed by the field (issue 17): the database refuses the AdC
#   (06) or a VP before the DDT (22); a malformed VP (22) is reported
#   before a malformed DDT (18), the spec's order;
# - op 51 fields reach the outbox row: DD/DDT -> send_after, VP ->
#   valid_until, PR 1 -> priority 9, NRq 1 -> want_report (NRq absent: no
#   report), OTOA 5039 -> the alphanumeric sender;
# - per-account limits: max_binds 1 refuses a second login (NACK 04),
#   throughput 1/s NACKs 04 what a burst submits beyond it;
# - an inbound text routed to an account without a session waits in
#   smspool.account_events and goes out as op 52 when the account logs in.
. "$(dirname "$0")/../lib/e2e.sh"
plan 14

e2e_db smspool_e2e_ucp_codes
sql "INSERT INTO smspool.accounts (system_id, password, max_binds, throughput) VALUES
	('codes', 'pw', 1, NULL), ('slow', 'pw', 0, 1), ('later', 'pw', 0, NULL)" || bail "accounts"
add_connection ucpd ucp-server '{"listen": "127.0.0.1:0"}'
add_connection emu emulator '{"report_delay_ms": 100}'
add_connection lo loopback '{}'
add_route emu
sql "INSERT INTO smspool.inbound_routes (position, connection, account) VALUES (1, 'lo', 'later')" || bail "inbound route"
start_daemon s
wait_for 20 "SELECT state = 'up' FROM smspool.connection_state WHERE name = 'ucpd'" || bail "ucp-server not up"
PORT=$(sql "SELECT substring(detail from 'listening on 127\.0\.0\.1:([0-9]+)') FROM smspool.connection_state WHERE name = 'ucpd'")

cat >"$E2E_TMP/emi.py" <<'PY'
import socket, sys, time

def frame(trn, o_r, ot, fields, bad_checksum=False):
    body = "%02d/%05d/%s/%02d/%s/" % (trn, 0, o_r, ot, "/".join(fields))
    body = "%02d/%05d/%s/%02d/%s/" % (trn, len(body) + 2, o_r, ot, "/".join(fields))
    ck = sum(body.encode()) & 0xFF
    if bad_checksum:
        ck = (ck + 1) & 0xFF
    return b"\x02" + body.encode() + ("%02X" % ck).encode() + b"\x03"

class Sess:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.settimeout(20)
        self.buf = b""

    def read(self):
        while b"\x03" not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise EOFError
            self.buf += d
        i = self.buf.index(b"\x03")
        f, self.buf = self.buf[:i + 1], self.buf[i + 1:]
        return f[f.index(b"\x02") + 1:-1].decode().split("/")

    def ask(self, data):
        self.s.sendall(data)
        return self.read()

    def login(self, user, pw):
        return self.ask(frame(0, "O", 60, [user, "6", "5", "1", pw.encode().hex().upper(), "", "0100", "", "", "", "", ""]))

def op51(trn, adc, text, bad_checksum=False, **kw):
    f = [""] * 33
    f[0], f[1], f[18], f[20] = adc, "12345", "3", text.encode().hex().upper()
    for k, v in kw.items():
        f[{"oadc": 1, "nrq": 3, "dd": 10, "ddt": 11, "vp": 12, "msg": 20, "pr": 22, "otoa": 28}[k]] = v
    return frame(trn, "O", 51, f, bad_checksum)

def answer(r):  # "51/A" or "51/N/04"
    return "%s/%s" % (r[3], r[4]) + ("/" + r[5] if r[4] == "N" else "")
PY

python3 - "$PORT" "$E2E_TMP/emi.py" >"$E2E_TMP/codes.out" 2>&1 <<'PY'
import sys, time
exec(open(sys.argv[2]).read())
port = int(sys.argv[1])
s = Sess(port)
print("login=" + answer(s.login("codes", "pw")))
print("op31=" + answer(s.ask(frame(1, "O", 31, ["codes", "0539"]))))
print("op02=" + answer(s.ask(frame(2, "O", 2, ["1", "15550001", "12345", "", "3", "4142"]))))
print("op54=" + answer(s.ask(frame(9, "O", 54, ["4915550009001", "12345"] + [""] * 31))))
print("nothex=" + answer(s.ask(op51(3, "4915550009001", "x", msg="ZZ"))))
print("missing=" + answer(s.ask(frame(4, "O", 51, [""] * 32))))
print("checksum=" + answer(s.ask(op51(5, "4915550009001", "x", bad_checksum=True))))
now = time.time()
ddt = time.strftime("%d%m%y%H%M", time.gmtime(now + 2 * 86400))
vp = time.strftime("%d%m%y%H%M", time.gmtime(now + 3 * 86400))
print("fields=" + answer(s.ask(op51(6, "4915550009002", "fields", dd="1", ddt=ddt, vp=vp, pr="1", nrq="1"))))
print("noreport=" + answer(s.ask(op51(7, "4915550009003", "no report"))))
print("alpha=" + answer(s.ask(op51(8, "4915550009004", "alpha", oadc="07D4F29C0E", otoa="5039"))))
# refused by the database, each NACKed with the EC of the field it names
print("badadc=" + answer(s.ask(op51(11, "49155500AB", "bad AdC"))))
print("vpdd=" + answer(s.ask(op51(12, "4915550009005", "vp before dd", dd="1", ddt=vp, vp=ddt))))
# malformed in the frame: VP before DD/DDT, as the spec orders them
print("vpbad=" + answer(s.ask(op51(13, "4915550009006", "both bad", dd="1", ddt="3213261230", vp="99"))))
print("ddbad=" + answer(s.ask(op51(14, "4915550009007", "dd bad", dd="1", ddt="3213261230"))))
print("ddt=" + ddt)
print("vp=" + vp)
print("again=" + answer(Sess(port).login("codes", "pw")))
t = Sess(port)
print("slow=" + answer(t.login("slow", "pw")))
t.s.sendall(b"".join(op51(10 + i, "49155500091%02d" % i, "burst %d" % i) for i in range(5)))
print("burst=" + " ".join(sorted(answer(t.read()) for _ in range(5))))
PY
diag "$(cat "$E2E_TMP/codes.out")"
out() { sed -n "s/^$1=//p" "$E2E_TMP/codes.out"; }
is "$(out login)|$(out op31)" "60/A|31/A" "op 60 and op 31 are answered with an ACK"
is "$(out op02)|$(out op54)" "02/N/03|54/N/03" "an unsupported operation gets NACK 03 (unknown to the codec; a 5x one)"
is "$(out nothex)|$(out missing)" "51/N/02|51/N/02" "a syntax error gets NACK 02 (Msg not hex; a field missing)"
is "$(out checksum)" "51/N/01" "a bad checksum gets NACK 01, and the session goes on"
is "$(out fields)|$(out noreport)|$(out alpha)" "51/A|51/A|51/A" "the op 51 after them are ACKed"
is "$(out badadc)|$(out vpdd)" "51/N/06|51/N/22" \
	"refused by the database: a bad AdC NACK 06, a VP before the DDT NACK 22 (the field it names, issue 17)"
is "$(out vpbad)|$(out ddbad)" "51/N/22|51/N/18" "a malformed VP is NACKed 22 before a malformed DDT (18)"
is "$(sql "SELECT to_char(send_after AT TIME ZONE 'UTC', 'DDMMYYHH24MI') || '|' || to_char(valid_until AT TIME ZONE 'UTC', 'DDMMYYHH24MI') || '|' || priority || '|' || want_report
	FROM smspool.outbox WHERE recipient = '4915550009002'")" "$(out ddt)|$(out vp)|9|true" \
	"DD/DDT become send_after, VP valid_until, PR 1 priority 9, NRq 1 a report"
is "$(sql "SELECT want_report FROM smspool.outbox WHERE recipient = '4915550009003'")" "f" "no NRq: no report"
is "$(sql "SELECT sender FROM smspool.outbox WHERE recipient = '4915550009004'")" "Test" \
	"an alphanumeric OAdC (OTOA 5039) is the sender's text"
is "$(out again)" "60/N/04" "max_binds 1: a second login of the account is refused with NACK 04"
like "$(out burst)" '^(51/A )+(51/N/04 ?)+$' "throughput 1/s: a burst is ACKed up to the limit, the rest NACKed 04"

# An inbound text for 'later', which has no session: it waits, then goes out
# as op 52 once the account logs in.
sql "INSERT INTO smspool.outbox (recipient, sender, body, connection) VALUES ('+4915110000009', '555', 'waiting for you', 'lo')" || bail "INSERT inbound"
if wait_for 30 "SELECT count(*) = 1 FROM smspool.account_events WHERE account = 'later'"; then
	python3 - "$PORT" "$E2E_TMP/emi.py" >"$E2E_TMP/later.out" 2>&1 <<'PY'
import sys
exec(open(sys.argv[2]).read())
s = Sess(int(sys.argv[1]))
print("login=" + answer(s.login("later", "pw")))
r = s.read()
while r[2] != "O":
    r = s.read()
text = bytes.fromhex(r[4 + 20]).decode() if r[4 + 18] == "3" else "MT " + r[4 + 18]
print("op%s adc=%s oadc=%s text=%s" % (r[3], r[4], r[5], text))
s.s.sendall(frame(int(r[0]), "R", int(r[3]), ["A", "", ""]))
PY
	diag "$(cat "$E2E_TMP/later.out")"
	like "$(grep '^op' "$E2E_TMP/later.out")" '^op52 adc=555 oadc=(00|\+)?4915110000009 text=waiting for you$' \
		"an inbound text waits in account_events while the account has no session, then goes out as op 52"
else
	fail "an inbound text waits in account_events while the account has no session, then goes out as op 52" \
		"$(sql "SELECT * FROM smspool.inbox")"
fi
stop_daemon s
is "$DAEMON_STATUS" 0 "the daemon exits 0"
finish
