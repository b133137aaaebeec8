#!/usr/bin/env bash
# The email connection against a private Exim (SMTP with AUTH, STARTTLS and
# implicit TLS) and a private Dovecot (POP3 with STLS, IMAPS), both on free
# 127.0.0.1 ports (tests/lib/mailpeers.sh):
#  - outbox → Exim (STARTTLS + AUTH) → maildir; each delivered mail parsed by
#    Python's email package: From/To/Subject/Message-ID/Date/extra header,
#    text/plain; charset=utf-8 and the exact body; a long text stays one mail
#  - 5xx at RCPT → rejected with code and text; 4xx → retried, not lost
#  - a recipient that bounces → Exim's RFC 3464 bounce is read from the
#    mailbox → the message is undelivered with the bounce's status
#  - mails dropped into the maildir (UTF-8 QP, ISO-8859-1 base64, HTML only,
#    multipart/alternative with an attachment) → inbox rows with the right
#    texts, senders, recipients, each once; POP3 deletes them after commit;
#    a mail without sender or text stays in the mailbox and is counted
#  - IMAPS with delete_after never, across a daemon restart: every mail once
#  - wrong SMTP password, server down, untrusted certificate, wrong mailbox
#    password → the message stays queued with the error, the connection's
#    state detail says why; after fixing the password it is sent
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/mailpeers.sh"
plan 36

_email_cleanup() {
	mail_peers_stop
	_e2e_cleanup
}
trap _email_cleanup EXIT

MAIL_DIR=$E2E_TMP/mail
mail_peers_start >"$E2E_TMP/peers.out" 2>&1 || bail "mail servers did not start: $(cat "$E2E_TMP/peers.out")"
diag "exim smtp=$SMTP_PORT smtps=$SMTPS_PORT dovecot pop3=$POP3_PORT imaps=$IMAPS_PORT"

e2e_db e2e_email
sql "UPDATE smspool.config SET value = '1' WHERE key = 'retry_base_s';
     UPDATE smspool.config SET value = '2' WHERE key = 'retry_max_s';
     UPDATE smspool.config SET value = '50' WHERE key = 'max_attempts'" || bail "config"

# gen_mail KIND: a test mail on stdout, written by Python's email package.
gen_mail() {
	python3 - "$1" <<'EOF'
import sys
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
k = sys.argv[1]
def head(m, frm, to, subj):
    m["From"] = frm; m["To"] = to; m["Subject"] = subj
    m["Date"] = "Thu, 03 Dec 2026 08:00:00 +0000"
    m["Message-ID"] = "<%s@test.example>" % k
if k == "qp":
    m = EmailMessage(); head(m, "Alice <+491701234567@sms.example>", "4930123@smspool.test", "qp")
    m.set_content("Grüße aus Köln — 10 € ✓", charset="utf-8", cte="quoted-printable")
elif k == "latin1":
    m = EmailMessage(); head(m, "bob@example.net", "4930124@smspool.test", "latin1")
    m.set_content("Déjà vu à Zürich", charset="iso-8859-1", cte="base64")
elif k == "html":
    m = EmailMessage(); head(m, "+15551230001@sms.example", "4930125@smspool.test", "html")
    m.set_content("<html><head><style>p{}</style></head><body><p>Hello <b>HTML</b> &amp; co</p></body></html>", subtype="html", charset="utf-8")
elif k == "alt":
    m = MIMEMultipart("mixed"); head(m, "carol@example.org", "Gateway <4930126@smspool.test>", "alt")
    a = MIMEMultipart("alternative")
    a.attach(MIMEText("plain wins ü", "plain", "utf-8"))
    a.attach(MIMEText("<p>html loses</p>", "html", "utf-8"))
    m.attach(a)
    p = MIMEApplication(b"%PDF-1.4 not really", "pdf"); p.add_header("Content-Disposition", "attachment", filename="a.pdf")
    m.attach(p)
elif k == "long":
    m = EmailMessage(); head(m, "+15551230009@sms.example", "4930127@smspool.test", "long")
    m.set_content("y" * 2000, charset="utf-8")
elif k == "bad":
    m = EmailMessage(); m["To"] = "4930127@smspool.test"; m["Subject"] = "no sender, no text"
    m.set_content(b"%PDF", maintype="application", subtype="pdf")
else:
    m = EmailMessage(); head(m, "+1555%s@sms.example" % k[1:].zfill(7), "4930200@smspool.test", k)
    m.set_content("imap text %s" % k, charset="utf-8")
sys.stdout.write(m.as_string())
EOF
}

conn_detail() { sql "SELECT coalesce(string_agg(detail, ' | '), '') FROM smspool.connection_state WHERE name = '$1'"; }
inbox_body() { sql "SELECT body FROM smspool.inbox WHERE connection = '$1' AND sender = '$2'"; }

COMMON="\"username\": \"$MAIL_USER\", \"password\": \"$MAIL_PASS\", \"tls_ca_file\": \"$MAIL_CA\",
        \"from\": \"SMS Gateway <gw@smspool.test>\", \"to\": \"{recipient}@sms.test\",
        \"subject\": \"SMS from {sender}\", \"headers\": {\"X-Smspool-Id\": \"{id}\"},
        \"message_id_domain\": \"gw.smspool.test\", \"timeout_ms\": 15000, \"connect_timeout_ms\": 3000"
add_connection mail email "{\"smtp_url\": \"smtp://localhost:$SMTP_PORT\", \"starttls\": \"required\", $COMMON,
        \"mailbox_url\": \"pop3://localhost:$POP3_PORT\", \"poll_s\": 1}" 4
add_route mail

# --- sending -------------------------------------------------------------------------
LONG=$(printf 'x%.0s' $(seq 1 400))
sql "INSERT INTO smspool.outbox (recipient, sender, body) VALUES
       ('+4917612345678', '4930111', 'Grüße aus Köln — 10 € ✓'),
       ('4917600000002', '4930111', '$LONG'),
       ('4917600000003', '4930111', E'dots\n.\n..two\nFrom here\n.'),
       ('9990001', '4930111', 'this one bounces'),
       ('9970001', '4930111', 'this one is refused'),
       ('9980001', '4930111', 'this one is deferred')" || bail "insert"
ID1=$(sql "SELECT id FROM smspool.outbox WHERE recipient = '+4917612345678'")
ID2=$(sql "SELECT id FROM smspool.outbox WHERE recipient = '4917600000002'")
ID6=$(sql "SELECT id FROM smspool.outbox WHERE recipient = '4917600000003'")
ID3=$(sql "SELECT id FROM smspool.outbox WHERE recipient = '9990001'")
ID4=$(sql "SELECT id FROM smspool.outbox WHERE recipient = '9970001'")
ID5=$(sql "SELECT id FROM smspool.outbox WHERE recipient = '9980001'")
start_daemon a

wait_for 30 "SELECT count(*) = 3 FROM smspool.outbox WHERE id IN ($ID1, $ID2, $ID6) AND status = 'sent'"
ok "$? == 0" "three messages sent through Exim with STARTTLS and AUTH"
is "$(sql "SELECT remote_ids[1] FROM smspool.outbox WHERE id = $ID1")" "$ID1.a@gw.smspool.test" \
	"the remote id is the mail's Message-ID"
is "$(sql "SELECT parts || ':' || array_length(remote_ids, 1) FROM smspool.outbox WHERE id = $ID2")" "3:3" \
	"a 400-character text: 3 parts, one mail"

for _ in $(seq 1 100); do
	[ "$(ls "$SENT_DIR/new" | wc -l)" -ge 3 ] && break
	sleep 0.1
done
CHECK=$(python3 - "$SENT_DIR/new" "$ID1" "$ID2" "$LONG" "$ID6" <<'EOF'
import email, email.policy, os, sys
d, id1, id2, long, id6 = sys.argv[1:]
mails = {}
for f in os.listdir(d):
    m = email.message_from_binary_file(open(os.path.join(d, f), "rb"), policy=email.policy.default)
    mails[m["X-Smspool-Id"]] = m
out = []
m = mails.get(id1)
if m is None:
    print("no mail for", id1, list(mails)); sys.exit()
out.append(m["From"] == "SMS Gateway <gw@smspool.test>")
out.append(m["To"] == "+4917612345678@sms.test")
out.append(m["Subject"] == "SMS from 4930111")
out.append(m["Message-ID"] == "<%s.a@gw.smspool.test>" % id1)
out.append(m["Date"] is not None and m["Date"].datetime is not None)
out.append(m.get_content_type() == "text/plain" and m.get_content_charset() == "utf-8")
out.append(m["Content-Transfer-Encoding"].lower() in ("quoted-printable", "base64"))
out.append(m.get_content().rstrip("\n") == "Grüße aus Köln — 10 € ✓")
m2 = mails.get(id2)
out.append(m2 is not None and m2.get_content().rstrip("\n") == long)
m6 = mails.get(id6)
out.append(m6 is not None and m6.get_content().rstrip("\n") == "dots\n.\n..two\nFrom here\n.")
print(" ".join("1" if x else "0" for x in out))
EOF
)
is "$CHECK" "1 1 1 1 1 1 1 1 1 1" "Python's email package reads the mail: From, To, Subject, Message-ID, Date, utf-8 text/plain, transfer encoding, body; the long text whole; lines of dots intact"

wait_for 30 "SELECT status = 'rejected' FROM smspool.outbox WHERE id = $ID4"
ok "$? == 0" "550 at RCPT → rejected"
like "$(sql "SELECT error_code || ' ' || error_text FROM smspool.outbox WHERE id = $ID4")" "smtp_550 550 5.1.1 no such user" \
	"the rejection keeps the SMTP code and text"
wait_for 30 "SELECT attempts >= 2 AND status IN ('queued', 'sending') AND error_code = 'smtp_451' FROM smspool.outbox WHERE id = $ID5"
ok "$? == 0" "451 at RCPT → retried, still queued, with the code"

# --- the bounce comes back through the mailbox ---------------------------------------
wait_for 45 "SELECT status = 'undelivered' FROM smspool.outbox WHERE id = $ID3"
ok "$? == 0" "a bounce (RFC 3464) of a sent mail → undelivered"
is "$(sql "SELECT error_code FROM smspool.reports WHERE remote_id = '$ID3.a@gw.smspool.test'")" "5.0.0" \
	"the report keeps the bounce's status code"

# --- receiving over POP3 (STLS), deleting after commit ----------------------------------
for k in qp latin1 html alt long bad; do
	gen_mail "$k" | mail_drop "$k" || bail "drop $k"
done
wait_for 30 "SELECT count(*) = 5 FROM smspool.inbox WHERE connection = 'mail'"
ok "$? == 0" "five mails → five inbox rows"
is "$(inbox_body mail +491701234567)" "Grüße aus Köln — 10 € ✓" "UTF-8 quoted-printable; sender is the number in From:"
is "$(inbox_body mail bob@example.net)" "Déjà vu à Zürich" "ISO-8859-1 base64; a non-number sender stays an address"
is "$(inbox_body mail +15551230001)" "Hello HTML & co" "HTML only → reduced to text"
is "$(inbox_body mail carol@example.org)" "plain wins ü" "multipart/alternative with an attachment → the plain part"
is "$(sql "SELECT string_agg(recipient, ',' ORDER BY recipient) FROM smspool.inbox WHERE connection = 'mail'")" \
	"4930123,4930124,4930125,4930126,4930127" "recipients from To: (the number)"
is "$(sql "SELECT length(body) || ':' || parts FROM smspool.inbox WHERE connection = 'mail' AND sender = '+15551230009'")" \
	"1530:10" "a 2,000-character mail is cut to max_parts (10 parts of 153)"
wait_for 20 "SELECT position('kept unparsed' in coalesce(detail, '')) > 0 FROM smspool.connection_state WHERE name = 'mail'"
ok "$? == 0" "the mail without sender or text is counted in the connection's state detail"
mails() { find "$MAILDIR/new" "$MAILDIR/cur" -type f -printf '%f\n'; }
for _ in $(seq 1 100); do
	[ "$(mails | wc -l)" -le 1 ] && break
	sleep 0.1
done
is "$(mails | grep -c '^bad\.')" 1 "the unusable mail is kept in the mailbox"
is "$(grep -c 'event=email_unparsed conn=mail ' "$E2E_TMP/daemon-a.log")" 1 "… and logged once, whatever the polls"
is "$(mails | wc -l)" 1 "the stored mails and the bounce are deleted after commit"

# --- IMAPS, delete_after never, across a restart --------------------------------------
sql "UPDATE smspool.connections SET enabled = false WHERE name = 'mail'" || bail "disable mail"
add_connection imapin email "{\"mailbox_url\": \"imaps://localhost:$IMAPS_PORT/INBOX\", \"delete_after\": \"never\",
        \"username\": \"$MAIL_USER\", \"password\": \"$MAIL_PASS\", \"tls_ca_file\": \"$MAIL_CA\", \"poll_s\": 1}"
for k in i1 i2 i3; do gen_mail "$k" | mail_drop "$k"; done
wait_for 30 "SELECT count(*) = 3 FROM smspool.inbox WHERE connection = 'imapin'"
ok "$? == 0" "IMAPS: three mails → three inbox rows"
stop_daemon a
gen_mail i4 | mail_drop i4
start_daemon a
wait_for 30 "SELECT count(*) >= 4 FROM smspool.inbox WHERE connection = 'imapin'"
gen_mail i5 | mail_drop i5
wait_for 30 "SELECT count(*) >= 5 FROM smspool.inbox WHERE connection = 'imapin'"
is "$(sql "SELECT count(*) || '/' || count(DISTINCT body) FROM smspool.inbox WHERE connection = 'imapin'")" "5/5" \
	"after a restart: the new mails once, the old ones not again"
is "$(mails | grep -c '^i[0-9]\.')" 5 "delete_after never: the mails stay in the mailbox"
is "$(sql "SELECT count(*) FROM smspool.inbound_keys WHERE connection = 'imapin' AND key ~ '^imaps://.*#[0-9]+[.][0-9]+$'")" 5 \
	"IMAP keys are UIDVALIDITY.UID (one per mail)"
# IMAP with STARTTLS, deleting after commit (\Deleted, EXPUNGE): another connection, so it takes them all again
sql "UPDATE smspool.connections SET enabled = false WHERE name = 'imapin'" || bail "disable imapin"
add_connection imapdel email "{\"mailbox_url\": \"imap://localhost:$IMAP_PORT/INBOX\", \"starttls\": \"required\",
        \"username\": \"$MAIL_USER\", \"password\": \"$MAIL_PASS\", \"tls_ca_file\": \"$MAIL_CA\", \"poll_s\": 1}"
wait_for 30 "SELECT count(*) = 5 FROM smspool.inbox WHERE connection = 'imapdel'"
ok "$? == 0" "IMAP with STARTTLS: the five mails → five rows of the other connection"
for _ in $(seq 1 100); do
	[ "$(mails | wc -l)" -le 1 ] && break
	sleep 0.1
done
is "$(mails | tr '\n' ' ')" "$(mails | grep '^bad\.') " "IMAP delete_after commit: stored mails expunged, the unusable one kept"

# --- errors ------------------------------------------------------------------------------
DOWN=$(_mail_free_port)
add_connection badpass email "{\"smtp_url\": \"smtps://localhost:$SMTPS_PORT\", $COMMON, \"password\": \"wrong\"}" 1
add_connection down email "{\"smtp_url\": \"smtp://localhost:$DOWN\", \"starttls\": \"optional\", $COMMON}" 1
add_connection untrusted email "{\"smtp_url\": \"smtps://localhost:$SMTPS_PORT\",
        \"username\": \"$MAIL_USER\", \"password\": \"$MAIL_PASS\", \"from\": \"gw@smspool.test\", \"to\": \"{recipient}@sms.test\"}" 1
add_connection mbbad email "{\"mailbox_url\": \"pop3s://localhost:$POP3S_PORT\", \"username\": \"$MAIL_USER\",
        \"password\": \"wrong\", \"tls_ca_file\": \"$MAIL_CA\", \"poll_s\": 1}"
sql "INSERT INTO smspool.outbox (recipient, body, connection) VALUES
       ('4917600000011', 'bad password', 'badpass'), ('4917600000012', 'server down', 'down'),
       ('4917600000013', 'untrusted', 'untrusted')" || bail "insert errors"
IDB=$(sql "SELECT id FROM smspool.outbox WHERE connection = 'badpass'")
wait_for 30 "SELECT attempts >= 2 AND status IN ('queued','sending') AND error_code LIKE 'smtp_535' FROM smspool.outbox WHERE id = $IDB"
ok "$? == 0" "wrong SMTP password → temporary (smtp_535), retried, not lost"
like "$(conn_detail badpass)" "authentication refused" "… and the state detail says so"
like "$("$SMSPOOL_BIN" status 2>&1)" "badpass@a: smtp: SMTP authentication refused: 535" "… and smspool status shows it"
wait_for 30 "SELECT attempts >= 2 AND status IN ('queued','sending') FROM smspool.outbox WHERE connection = 'down'"
ok "$? == 0" "server down → temporary, retried"
like "$(conn_detail down)" "onnect" "… the detail names the connection failure"
wait_for 30 "SELECT attempts >= 1 AND status IN ('queued','sending') AND error_code = 'curl_60' FROM smspool.outbox WHERE connection = 'untrusted'"
ok "$? == 0" "untrusted certificate → temporary (curl_60), nothing sent"
like "$(conn_detail untrusted)" "certificate" "… the detail names the certificate"
wait_for 30 "SELECT position('login refused' in coalesce(detail, '')) > 0 FROM smspool.connection_state WHERE name = 'mbbad'"
ok "$? == 0" "wrong mailbox password → the state detail says the login was refused"
sql "UPDATE smspool.connections SET settings = settings || '{\"password\": \"$MAIL_PASS\"}' WHERE name = 'badpass'"
wait_for 30 "SELECT status = 'sent' FROM smspool.outbox WHERE id = $IDB"
ok "$? == 0" "the password fixed → the waiting message is sent (implicit TLS)"
sql "UPDATE smspool.outbox SET status = 'cancelled' WHERE status = 'queued'" >/dev/null

stop_daemon a
ok "$? == 0" "the daemon stops cleanly"
finish
