#!/usr/bin/env bash
# The operations endpoint (metrics_listen) scraped by a real Prometheus
# (Debian `prometheus`, started privately on 127.0.0.1 with a 1 s scrape
# interval, storage in $E2E_TMP): after an emulator connection has sent
# messages (some rejected), a loopback connection has echoed texts back and
# delivery reports have come in, Prometheus's query API returns the series
# with the values the database holds.  `promtool check metrics` accepts the
# exposition.  /health says 200 while every enabled connection is up and 503,
# naming the connection, while one cannot connect; a disabled connection is
# intentionally down and keeps it 200.
. "$(dirname "$0")/../lib/e2e.sh"
. "$(dirname "$0")/../lib/ops.sh"
plan 22

command -v prometheus >/dev/null || bail "prometheus is not installed (make test-deps)"
command -v promtool >/dev/null || bail "promtool is not installed (Debian prometheus, make test-deps)"
command -v curl >/dev/null || bail "curl is not installed"

# prom_query 'PROMQL': the first sample's value, or empty.
prom_query() {
	curl -s -G --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json,sys
d=json.load(sys.stdin); r=d.get("data",{}).get("result",[])
print(r[0]["value"][1] if r else "")' 2>/dev/null
}

# prom_wait SECONDS 'PROMQL' WANT: polls until the query returns WANT; prints the last value.
prom_wait() {
	local end=$(($(date +%s) + $1)) v=""
	while :; do
		v=$(prom_query "$2")
		[ "$v" = "$3" ] && break
		[ "$(date +%s)" -lt "$end" ] || break
		sleep 0.5
	done
	printf '%s\n' "$v"
}

e2e_db smspool_e2e_metrics
add_connection emu emulator '{"seed": 5, "accept_rate": 0.9, "report_delay_ms": 50}' 20
add_connection lo loopback '{}'
add_route emu
start_daemon m1 SMSPOOL_METRICS_LISTEN=127.0.0.1:0

port=$(ops_port m1)
[ -n "$port" ] || bail "the daemon did not log ops_http_listening"
BASE="http://127.0.0.1:$port"
diag "operations endpoint on $BASE"

# Ready (connections started, both up): 200.
code=$(ops_wait_code "$BASE/health" 200 "$E2E_TMP/health.json")
is "$code" 200 "/health is 200 once the daemon is ready with every connection up"
like "$(cat "$E2E_TMP/health.json")" '"status": "ok"' "/health body says ok"

sql "INSERT INTO smspool.outbox (recipient, body) SELECT '+1555100' || lpad(i::text, 4, '0'), 'metrics ' || i
     FROM generate_series(1, 200) i;
     INSERT INTO smspool.outbox (recipient, sender, body, connection)
     SELECT '+1555200' || i, '+15559990000', 'echo ' || i, 'lo' FROM generate_series(1, 5) i" || bail "INSERT failed"
if wait_for 60 "SELECT count(*) = 205 FROM smspool.outbox WHERE status IN ($FINAL_STATES)
                AND NOT (status = 'sent')"; then
	pass "205 messages final"
else
	fail "205 messages final" "states: $(state_counts)"
fi
# The database's figures, which the metrics must match.
emu_sent=$(count_where "connection_used = 'emu' AND status = 'delivered'")
emu_rej=$(count_where "connection_used = 'emu' AND status = 'rejected'")
emu_all=$(count_where "connection_used = 'emu'")
reports=$(sql "SELECT count(*) FROM smspool.reports WHERE connection = 'emu'")
diag "emu: $emu_all submitted, $emu_sent delivered, $emu_rej rejected, $reports reports"
ok "$emu_rej > 0 && $emu_sent > 150" "the emulator accepted most and rejected some"

curl -s --max-time 10 "$BASE/metrics" >"$E2E_TMP/metrics.txt"
out=$(promtool check metrics <"$E2E_TMP/metrics.txt" 2>&1)
rc=$?
if [ "$rc" = 0 ]; then pass "promtool check metrics accepts the exposition"; else fail "promtool check metrics accepts the exposition" "$out"; fi
like "$(grep -c '^smspool_' "$E2E_TMP/metrics.txt")" '^[0-9]{2,}$' "/metrics has samples"

# A private Prometheus scraping the daemon every second.
PROM_PORT=$(free_port)
mkdir -p "$E2E_TMP/prom"
cat >"$E2E_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: smspool
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
prometheus --config.file="$E2E_TMP/prometheus.yml" --storage.tsdb.path="$E2E_TMP/prom" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$E2E_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
trap 'kill $PROM_PID 2>/dev/null; wait $PROM_PID 2>/dev/null; _e2e_cleanup' EXIT
diag "prometheus pid $PROM_PID on 127.0.0.1:$PROM_PORT"

# The first scrape comes ~6 s after the start: wait for the target to be up.
is "$(prom_wait 30 'up{job="smspool"}' 1)" 1 "Prometheus scrapes the daemon (up == 1)"
is "$(prom_wait 15 'smspool_connection_submits_total{connection="emu"}' "$emu_all")" "$emu_all" \
	"submits_total{emu} equals the messages sent through emu"
is "$(prom_wait 10 'smspool_connection_results_total{connection="emu",class="sent"}' "$emu_sent")" "$emu_sent" \
	"results_total{class=sent} equals the accepted messages"
is "$(prom_query 'smspool_connection_results_total{connection="emu",class="rejected"}')" "$emu_rej" \
	"results_total{class=rejected} equals the rejected messages"
is "$(prom_query 'smspool_connection_send_latency_seconds_count{connection="emu"}')" "$emu_all" \
	"the send latency histogram counts every answered submit"
is "$(prom_query 'smspool_connection_reports_received_total{connection="emu"}')" "$reports" \
	"reports_received_total equals the stored reports"
is "$(prom_query 'smspool_connection_inbound_total{connection="lo"}')" 5 "inbound_total{lo} = 5 echoed texts"
is "$(prom_query 'smspool_connection_up{connection="emu"}')" 1 "connection_up{emu} = 1"
is "$(prom_query 'smspool_queue_depth')" 0 "queue_depth = 0 once everything is sent"
ok "$(prom_query 'smspool_db_statement_seconds_count{statement="write"}' | cut -d. -f1) > 0" \
	"write statements are timed"
is "$(prom_query 'count(smspool_build_info{daemon="m1"})')" 1 "build_info names the instance"

# Every query of the Grafana dashboard (variables set to "all") is valid
# PromQL and finds series (unmatched reports excepted: every report matched).
dash=$(python3 - "$E2E_ROOT/packaging/grafana-dashboard.json" "$PROM_PORT" <<'PY'
import json, sys, urllib.parse, urllib.request
d = json.load(open(sys.argv[1]))
bad = []
for p in d["panels"]:
    for t in p["targets"]:
        e = t["expr"].replace("$connection", ".*").replace("$job", ".*")
        url = "http://127.0.0.1:%s/api/v1/query?%s" % (sys.argv[2], urllib.parse.urlencode({"query": e}))
        try:
            r = json.load(urllib.request.urlopen(url, timeout=5))
        except Exception as x:
            bad.append("%s: %s" % (p["title"], x)); continue
        if r.get("status") != "success":
            bad.append("%s: %s" % (p["title"], r.get("error")))
        elif not r["data"]["result"] and "unmatched" not in e:
            bad.append("%s: no series for %s" % (p["title"], e))
print("; ".join(bad) if bad else "ok")
PY
)
is "$dash" ok "every Grafana dashboard query is valid and finds its series"

# A connection that cannot connect: 503 naming it; disabled: 200 again.
dead=$(free_port)
add_connection broken smpp "{\"host\": \"127.0.0.1\", \"port\": $dead, \"system_id\": \"x\", \"password\": \"y\"}"
code=$(ops_wait_code "$BASE/health" 503 "$E2E_TMP/health.json")
is "$code" 503 "/health is 503 while an enabled connection cannot connect"
like "$(cat "$E2E_TMP/health.json")" 'connection broken is (connecting|down)' "the 503 body names the connection and its state"
sql "UPDATE smspool.connections SET enabled = false WHERE name = 'broken'" || bail "UPDATE failed"
code=$(ops_wait_code "$BASE/health" 200 "$E2E_TMP/health.json")
is "$code" 200 "/health is 200 again once that connection is disabled (intentionally down)"

stop_daemon m1
is "$DAEMON_STATUS" 0 "daemon exits 0 on SIGTERM"
finish
