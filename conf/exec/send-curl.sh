#!/bin/sh
# send-curl.sh: an exec connection's send program that POSTs each message to
# an HTTP API with curl, a one-liner.  No shell ever sees the text: it comes
# as an argument and curl url-encodes it.
#
#   "send_argv": ["conf/exec/send-curl.sh", "{recipient}", "{text}"],
#   "env": {"SMS_API_URL": "https://api.example/v1/messages"},
#   "id_json_pointer": "/message_id",
#   "temporary_exit_codes": [6, 7, 28, 75]      (curl: cannot resolve, connect, timeout)
#
# curl --fail exits 22 on an HTTP status >= 400: the message is rejected
# with curl's error line.  The answer's body is stdout: its /message_id is
# the remote id.
exec curl -sS --fail --max-time 20 --data-urlencode "to=$1" --data-urlencode "text=$2" "${SMS_API_URL:?SMS_API_URL is not set}"
