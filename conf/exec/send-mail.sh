#!/bin/sh
# send-mail.sh: a sendmail-style send program: each message becomes a mail
# file in the Maildir $MAIL_DIR (new/ID.eml, written in tmp/ and renamed so
# that a reader never sees half a file); its name is the remote id.
#
#   "send_argv": ["conf/exec/send-mail.sh", "{recipient}"],
#   "env": {"MAIL_DIR": "/var/spool/sms-mail"}
#
# The text is read from SMSPOOL_TEXT (set by smspool, never expanded here:
# printf '%s' prints it as it is).  Exit 75 (EX_TEMPFAIL) when the mail
# folder cannot be written: smspool tries again later.
set -u
dir=${MAIL_DIR:?MAIL_DIR is not set}
mkdir -p "$dir/tmp" "$dir/new" || exit 75
tmp="$dir/tmp/$SMSPOOL_ID.$$"
{
	printf 'To: <%s@sms.invalid>\n' "$1"
	printf 'From: <%s@sms.invalid>\n' "${SMSPOOL_SENDER:-smspool}"
	printf 'Subject: SMS %s\n' "$SMSPOOL_ID"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n'
	printf '%s\n' "${SMSPOOL_TEXT-}"
} >"$tmp" || { echo "cannot write $tmp" >&2; exit 75; }
mv "$tmp" "$dir/new/$SMSPOOL_ID.eml" || exit 75
printf 'mail-%s\n' "$SMSPOOL_ID"
