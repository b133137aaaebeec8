#!/usr/bin/env bash
# `smspool decode ucp`: every vector of tests/vectors/ucp.tsv decodes to its
# `fields` column (one key=value per line), with or without STX/ETX; a frame
# a receiver refuses adds error= and answer_EC= and exits 1.
. "$(dirname "$0")/../lib/e2e.sh"
BIN=$SMSPOOL_BIN
VEC=tests/vectors/ucp.tsv
n=$(($(wc -l <"$VEC") - 1))
plan $((2 * n + 3))

while IFS=$'\t' read -r id kind _pct hex fields expect _rest; do
	[ "$id" = id ] && continue
	want=$(printf '%s' "$fields" | tr ';' '\n')
	out=$("$BIN" decode ucp "$hex" 2>&1)
	rc=$?
	if [ "$kind" = error ]; then
		ec=${expect#nack:EC=}
		got=$(printf '%s\n' "$out" | grep -v -e '^error=' -e '^answer_EC=')
		if [ "$rc" = 1 ] && [ "$got" == "$want" ] && printf '%s\n' "$out" | grep -qx "answer_EC=$ec" &&
			printf '%s\n' "$out" | grep -q '^error=.'; then
			pass "$id: refused with EC $ec, fields as the vector"
		else
			fail "$id: refused with EC $ec, fields as the vector" "rc=$rc" "$out"
		fi
	else
		is "$rc:$out" "0:$want" "$id: decodes to the vector's fields"
	fi
	# Without STX/ETX: the same output.
	inner=${hex#02}
	inner=${inner%03}
	out2=$("$BIN" decode ucp "$inner" 2>&1)
	is "$out2" "$out" "$id: the same without STX/ETX"
done <"$VEC"

out=$("$BIN" decode ucp 3030 2>&1)
is "$?" 1 "a malformed frame exits 1"
like "$out" '^parse_error=header' "a malformed frame says why"
out=$(printf '02%s03' "$(printf '00/00019/R/60/A//6D' | xxd -p | tr -d '\n')" | "$BIN" decode ucp - 2>&1)
is "$out" "$(printf 'TRN=00\nLEN=00019\nOR=R\nOT=60\nchecksum=6D\nchecksum_ok=1\nlen_ok=1\nACK=A\nSM=')" "hex from standard input"
finish
