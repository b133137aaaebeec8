#!/usr/bin/env bash
# `smspool decode fbus HEX` over every vector of tests/vectors/fbus.tsv: the
# key=value lines, joined with ';', are the vector's fields column; error
# vectors exit 1 and end with error=<class of the expect column>.
. "$(dirname "$0")/../lib/e2e.sh"
V=$E2E_ROOT/tests/vectors/fbus.tsv
plan "$(($(wc -l <"$V") - 1))"
while IFS=$'\t' read -r id kind hex fields expect _; do
	[ "$id" = id ] && continue
	out=$("$SMSPOOL_BIN" decode fbus "$hex")
	rc=$?
	if [ "$kind" = error ]; then
		want="$fields;error=${expect#error:}"
		[ "$rc" = 1 ] || want="exit status 1"
	else
		want=$fields
	fi
	is "$(printf '%s' "$out" | paste -sd ';')" "$want" "$id ($kind)"
done <"$V"
finish
