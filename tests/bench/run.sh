#!/usr/bin/env bash
# make bench: figures, never a verdict.  Everything on the private cluster,
# bounded in time.  Prints a table and writes var/bench/latest.json.
#
#   BENCH_N=200000   messages in the lifecycle run
#
# 1. ceiling: pgbench runs claim + sent + delivered (batches of 100, 2 clients)
#    on smspool's own functions: the best a perfect daemon could do here.
# 2. lifecycle: BENCH_N rows queued, then the daemon sends them through an
#    emulator connection that answers at once and reports at once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
BIN=${SMSPOOL_BIN:-bin/smspool}
N=${BENCH_N:-200000}
PGBIN=/usr/lib/postgresql/15/bin
OUT=var/bench
mkdir -p "$OUT"
sh packaging/pgcluster.sh start >/dev/null
DB=smspool_bench
sh packaging/pgcluster.sh dropdb $DB >/dev/null 2>&1 || true
sh packaging/pgcluster.sh createdb $DB >/dev/null
export SMSPOOL_DB="$(sh packaging/pgcluster.sh url | sed "s/dbname=smspool/dbname=$DB/")"
export SMSPOOL_INSTANCE=bench SMSPOOL_LOG_LEVEL=warn
$BIN db migrate >/dev/null
q() { "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 "$SMSPOOL_DB" -c "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
q "INSERT INTO smspool.connections (name, type, settings, \"window\")
   VALUES ('bench', 'emulator', '{\"latency_ms\": 0, \"report_delay_ms\": 0}', 2000)"

insert_rows() { # insert_rows COUNT: in statements of 10,000 rows
	local left=$1 k
	while [ "$left" -gt 0 ]; do
		k=$((left < 10000 ? left : 10000))
		q "INSERT INTO smspool.outbox (recipient, body, connection)
		   SELECT '+1555' || lpad(i::text, 7, '0'), 'bench message ' || i, 'bench' FROM generate_series(1, $k) i"
		left=$((left - k))
	done
}

# 1. ceiling
echo "== ceiling: pgbench claim+sent+delivered, batches of 100, 20 s"
insert_rows 400000
ceil=$("$PGBIN/pgbench" -n -c 2 -j 2 -T 20 -f tests/bench/ceiling.pgbench "$SMSPOOL_DB" 2>&1 | awk '/^tps/ {print $3; exit}')
ceiling=$(awk -v t="$ceil" 'BEGIN { printf "%.0f", t * 100 }')
q "TRUNCATE smspool.queue, smspool.report_wait, smspool.reports; DELETE FROM smspool.outbox"
q "VACUUM ANALYZE smspool.outbox" >/dev/null 2>&1 || true

# 2. lifecycle
echo "== lifecycle: $N messages queued, emulator answering at once"
t0=$(now_ms)
insert_rows "$N"
t1=$(now_ms)
insert_rate=$(awk -v n="$N" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }')
$BIN run 2>"$OUT/daemon.log" &
pid=$!
start=$(now_ms)
sent_ms="" deadline=$((start + 600000))
while :; do
	left_sent=$(q "SELECT count(*) FROM smspool.outbox WHERE status IN ('queued', 'sending')")
	left_done=$(q "SELECT count(*) FROM smspool.outbox WHERE status IN ('queued', 'sending', 'sent')")
	[ -z "$sent_ms" ] && [ "$left_sent" = 0 ] && sent_ms=$(($(now_ms) - start))
	[ "$left_done" = 0 ] && break
	[ "$(now_ms)" -gt $deadline ] && { echo "bench: lifecycle did not finish in 10 minutes" >&2; break; }
	sleep 0.2
done
done_ms=$(($(now_ms) - start))
read -r utime stime < <(awk '{print $14, $15}' /proc/$pid/stat)
hz=$(getconf CLK_TCK)
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
kill -TERM $pid
wait $pid || true
cpu_s=$(awk -v u="$utime" -v s="$stime" -v hz="$hz" 'BEGIN { printf "%.2f", (u + s) / hz }')
sent_rate=$(awk -v n="$N" -v ms="${sent_ms:-$done_ms}" 'BEGIN { printf "%.0f", n * 1000 / ms }')
done_rate=$(awk -v n="$N" -v ms="$done_ms" 'BEGIN { printf "%.0f", n * 1000 / ms }')
cpu10k=$(awk -v c="$cpu_s" -v n="$N" 'BEGIN { printf "%.3f", c * 10000 / n }')
ratio=$(awk -v a="$done_rate" -v c="$ceiling" 'BEGIN { printf "%.2f", c > 0 ? a / c : 0 }')
rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
delivered=$(q "SELECT count(*) FROM smspool.outbox WHERE status = 'delivered'")

printf '\n%-40s %12s\n' "figure" "value"
printf '%-40s %12s\n' "ceiling_lifecycle_msgs_per_s" "$ceiling"
printf '%-40s %12s\n' "insert_bulk_rows_per_s" "$insert_rate"
printf '%-40s %12s\n' "lifecycle_sent_msgs_per_s" "$sent_rate"
printf '%-40s %12s\n' "lifecycle_delivered_msgs_per_s" "$done_rate"
printf '%-40s %12s\n' "lifecycle_to_ceiling_ratio" "$ratio"
printf '%-40s %12s\n' "daemon_cpu_s_per_10k" "$cpu10k"
printf '%-40s %12s\n' "daemon_peak_rss_mb" "$rss_mb"
printf '%-40s %12s\n' "delivered_of_N" "$delivered/$N"
cat >"$OUT/latest.json" <<JSON
{"ceiling_lifecycle_msgs_per_s": $ceiling, "insert_bulk_rows_per_s": $insert_rate,
 "lifecycle_sent_msgs_per_s": $sent_rate, "lifecycle_delivered_msgs_per_s": $done_rate,
 "daemon_cpu_s_per_10k": $cpu10k, "daemon_peak_rss_mb": $rss_mb, "messages": $N}
JSON
echo "written: $OUT/latest.json"
sh packaging/pgcluster.sh dropdb $DB >/dev/null 2>&1 || true
