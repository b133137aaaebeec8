# shellcheck shell=bash
# Private mail servers for the email connection's tests (e2e, bench): an Exim
# (exim4-daemon-light) that takes SMTP with AUTH, STARTTLS and implicit TLS,
# delivers mail for @sms.test into $SENT_DIR (what the tests read back) and
# mail for @smspool.test (bounces, test mails) into $MAILDIR, and a Dovecot
# that serves $MAILDIR over POP3, POP3S, IMAP and IMAPS to one passwd-file
# user.
# Everything lives under $MAIL_DIR; both listen on free 127.0.0.1 ports and
# are stopped by PID (mail_peers_stop).  A test CA and a server certificate
# for "localhost" are made with openssl.
#
#   MAIL_DIR=$E2E_TMP/mail mail_peers_start || bail "…"
#   … $SMTP_PORT $SMTPS_PORT $POP3_PORT $POP3S_PORT $IMAP_PORT $IMAPS_PORT
#   … $MAIL_CA (PEM), $MAILDIR and $SENT_DIR (new/ cur/), user $MAIL_USER / $MAIL_PASS
#   mail_peers_stop
# MAIL_QUEUE_ONLY=1: Exim only spools what it accepts (the bench measures the
# SMTP client, not Exim's deliveries).
#
# Exim's recipients (domain sms.test): anything accepted and delivered;
# local part "998…" → 451 at RCPT; "997…" → 550 at RCPT; "999…" → accepted,
# then fails in delivery (a bounce to the envelope sender).
# Sending needs AUTH (PLAIN/LOGIN as $MAIL_USER/$MAIL_PASS).

MAIL_USER=smsuser
MAIL_PASS='s3cret pass'
EXIM_PID=
DOVECOT_PID=

_mail_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_mail_wait_port() { # _mail_wait_port PORT: up to ~10 s
	local i
	for i in $(seq 1 100); do
		python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

mail_peers_start() {
	local d=$MAIL_DIR uid gid
	mkdir -p "$d" && chmod 755 "$d"
	# Exim and Dovecot work as Debian-exim and dovenull: they must reach $d.
	chmod a+x "$(dirname "$d")"
	uid=$(id -u Debian-exim) gid=$(id -g Debian-exim)
	SMTP_PORT=$(_mail_free_port) SMTPS_PORT=$(_mail_free_port) POP3_PORT=$(_mail_free_port)
	POP3S_PORT=$(_mail_free_port) IMAP_PORT=$(_mail_free_port) IMAPS_PORT=$(_mail_free_port)
	# Test CA and server certificate.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=smspool test CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" \
		>/dev/null 2>&1 || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/san.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/san.ext" -out "$d/server.crt" >/dev/null 2>&1 || return 1
	chown "$uid:$gid" "$d/server.key" "$d/server.crt"
	MAIL_CA=$d/ca.pem
	MAILDIR=$d/Maildir
	SENT_DIR=$d/Sent
	mkdir -p "$MAILDIR/new" "$MAILDIR/cur" "$MAILDIR/tmp" "$SENT_DIR/new" "$SENT_DIR/cur" "$SENT_DIR/tmp" \
		"$d/spool" "$d/log" "$d/home"
	chown -R "$uid:$gid" "$MAILDIR" "$SENT_DIR" "$d/spool" "$d/log" "$d/home"
	cat >"$d/exim.conf" <<CONF
primary_hostname = smspool.test
qualify_domain = smspool.test
domainlist local_domains = sms.test : smspool.test
daemon_smtp_ports = $SMTP_PORT : $SMTPS_PORT
tls_on_connect_ports = $SMTPS_PORT
local_interfaces = 127.0.0.1
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
log_selector = +smtp_connection
tls_advertise_hosts = *
tls_certificate = $d/server.crt
tls_privatekey = $d/server.key
auth_advertise_hosts = *
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
message_size_limit = 10M
queue_run_max = 0
delay_warning =
${MAIL_QUEUE_ONLY:+queue_only = true}
begin acl
acl_rcpt:
  defer   local_parts = ^998
          message = 451 4.3.0 try again later, please
  deny    local_parts = ^997
          message = 550 5.1.1 no such user here
  accept  authenticated = *
          domains = +local_domains
  accept  hosts = :
  deny    message = 530 5.7.0 authentication required
acl_data:
  accept
begin routers
bounce:
  driver = redirect
  domains = +local_domains
  local_parts = ^999
  data = :fail: mailbox unavailable
  allow_fail
sent:
  driver = accept
  domains = sms.test
  transport = to_sent
everyone:
  driver = accept
  domains = smspool.test
  transport = to_maildir
begin transports
to_maildir:
  driver = appendfile
  directory = $MAILDIR
  maildir_format
  delivery_date_add
  envelope_to_add
  return_path_add
  user = Debian-exim
  group = Debian-exim
  mode = 0660
to_sent:
  driver = appendfile
  directory = $SENT_DIR
  maildir_format
  user = Debian-exim
  group = Debian-exim
  mode = 0660
begin retry
*   *   F,1h,10m
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{\$auth2}{$MAIL_USER}}{eq{\$auth3}{$MAIL_PASS}}}}
  server_set_id = \$auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if and {{eq{\$auth1}{$MAIL_USER}}{eq{\$auth2}{$MAIL_PASS}}}}
  server_set_id = \$auth1
CONF
	/usr/sbin/exim -C "$d/exim.conf" -bdf >"$d/exim.out" 2>&1 &
	EXIM_PID=$!
	printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$MAIL_USER" "$MAIL_PASS" "$uid" "$gid" "$d/home" >"$d/users"
	mkdir -p "$d/dovecot-run" "$d/dovecot-state"
	cat >"$d/dovecot.conf" <<CONF
base_dir = $d/dovecot-run
state_dir = $d/dovecot-state
log_path = $d/dovecot.log
protocols = pop3 imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$d/server.crt
ssl_key = <$d/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:$MAILDIR
pop3_uidl_format = %08Xu%08Xv
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/users
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = $POP3S_PORT
    ssl = yes
  }
}
service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
CONF
	/usr/sbin/dovecot -F -c "$d/dovecot.conf" >"$d/dovecot.out" 2>&1 &
	DOVECOT_PID=$!
	_mail_wait_port "$SMTP_PORT" || { echo "exim did not start: $(cat "$d/exim.out" "$d/log/paniclog" 2>/dev/null)"; return 1; }
	_mail_wait_port "$IMAPS_PORT" || { echo "dovecot did not start: $(cat "$d/dovecot.out" "$d/dovecot.log" 2>/dev/null)"; return 1; }
	return 0
}

mail_peers_stop() { # safe under set -e
	local p
	for p in $EXIM_PID $DOVECOT_PID; do
		if kill "$p" 2>/dev/null; then wait "$p" 2>/dev/null || true; fi
	done
	EXIM_PID= DOVECOT_PID=
}

# mail_drop NAME < mail: puts a mail into the maildir as Exim would (tmp, then new).
mail_drop() {
	local f="$MAILDIR/tmp/$1.$$" uid gid
	cat >"$f" && uid=$(id -u Debian-exim) gid=$(id -g Debian-exim) && chown "$uid:$gid" "$f" &&
		mv "$f" "$MAILDIR/new/$1.$$:2,"
}
