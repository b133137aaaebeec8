#!/usr/bin/env bash
# smspool decode link: a native link frame (drivers/link/FORMAT.md) as
# key=value lines; a malformed frame prints error= and exits 1.
. "$(dirname "$0")/../lib/e2e.sh"

plan 10
batch=0000002D1A2B080112270A03613A3112072B343931353131220268693A046175746F4003580168FFFFFFFFFFFFFFFFFF01
out=$("$SMSPOOL_BIN" decode link "$batch")
is "$?" 0 "a batch frame decodes"
like "$out" "type=batch" "its type"
like "$out" "message.0.key=a:1" "the message's idempotency key"
hello=000000150A1308011201611A04616363742202707728808004
out=$("$SMSPOOL_BIN" decode link "$hello")
ok "$(grep -c '^password=(set)$' <<<"$out") == 1 && $(grep -c 'pw' <<<"$out") == 0" "a hello's password is never printed"
# 047: client_ids in a hello, client_id in a state
out=$("$SMSPOOL_BIN" decode link 000000170A1508011201611A046163637422027077288080043801)
like "$out" "client_ids=true" "a hello that offers client_ids"
out=$("$SMSPOOL_BIN" decode link 0000001A2A18080112140A03623A37120964656C697665726564402A4809)
like "$out" "state.0.id=42" "a state's server id"
like "$out" "state.0.client_id=9" "and the client's own id"
out=$("$SMSPOOL_BIN" decode link 000000182A16080112120A03623A37120964656C697665726564402A)
ok "$(grep -c client_id <<<"$out") == 0" "a state without client_id (an older server) prints none"
out=$("$SMSPOOL_BIN" decode link 0000000301FF02)
is "$?" 1 "garbage exits 1"
like "$out" "error=not a valid link frame" "with error="
finish
