# shellcheck shell=bash
# Helpers for the operations endpoint's e2e tests (87–89); source after e2e.sh.
#
#   port=$(ops_port INSTANCE)        the port the daemon logged as ops_http_listening (waits 10 s)
#   code=$(ops_wait_code URL CODE F) polls URL until it answers CODE (20 s); body in F; prints the last code
#   free_port                        a port the kernel says is free on 127.0.0.1

ops_port() {
	local p="" _
	for _ in $(seq 1 100); do
		p=$(sed -n 's/.*event=ops_http_listening addr=127\.0\.0\.1:\([0-9]*\).*/\1/p' "${DAEMON_LOG[$1]}" | tail -n 1)
		[ -n "$p" ] && break
		sleep 0.1
	done
	printf '%s\n' "$p"
}

ops_wait_code() {
	local code="" _
	for _ in $(seq 1 100); do
		code=$(curl -s -o "$3" -w '%{http_code}' --max-time 5 "$1")
		[ "$code" = "$2" ] && break
		sleep 0.2
	done
	printf '%s\n' "$code"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
