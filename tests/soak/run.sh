#!/usr/bin/env bash
# `make soak`: the fault suite (tests/e2e/9*_fault_*.sh, 96_valgrind.sh) and
# the hostile-client scenarios (78_smpp_hostile, 78_server_hostile: 200
# wrong-password workers for 60 s beside a working client) with longer runs, SOAK_ROUNDS times (default 2), each round with new random
# seeds (printed by each script: FAULT_SEED=... replays one).  Every script
# is run through tests/run.sh, so the output is the usual TAP with a summary
# per scenario; the last line is "soak: N runs, N failed".
#
#   make soak
#   SOAK_ROUNDS=5 bash tests/soak/run.sh
#   SOAK_ONLY=90 bash tests/soak/run.sh        one scenario
#
# Sizes (per scenario; see the scripts' FAULT_* variables):
#   90  200,000 messages, 30 SIGKILLs          91  4 x 20,000 messages, 2 PostgreSQL restarts
#   92  4 phases x 15,000 messages              93  2 phases x 60,000 messages, 2 daemons killed
#   94  3,000 early receipts                    95  the same MO texts (short by nature)
#   96  2,000 messages under valgrind
#   78  smpp_hostile, server_hostile: 60-s floods of 200 wrong-password workers
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT"
ROUNDS=${SOAK_ROUNDS:-2}
ONLY=${SOAK_ONLY:-}
export LIMIT_E2E=${LIMIT_E2E:-2400}
export FAULT_WAIT_S=${FAULT_WAIT_S:-600}
export FAULT_REPORT_WAIT_S=${FAULT_REPORT_WAIT_S:-30}

declare -A SIZE=(
	[90]="FAULT_N=200000 FAULT_KILLS=30"
	[91]="FAULT_N=20000"
	[92]="FAULT_N=15000"
	[93]="FAULT_N=60000"
	[94]="FAULT_N=3000"
	[95]=""
	[96]="FAULT_N=2000"
	[78]="HOSTILE_FLOOD_S=60 HOSTILE_WORKERS=200"
)
runs=0
failed=0
failures=()
T0=$SECONDS
for ((round = 1; round <= ROUNDS; round++)); do
	for f in tests/e2e/78_s*_hostile.sh tests/e2e/9[0-9]_*.sh; do
		t=$(basename "$f" .sh)
		n=${t%%_*}
		case $n in "$ONLY"*) ;; *) continue ;; esac
		echo
		echo "=== soak round $round/$ROUNDS: $t ${SIZE[$n]:-}"
		runs=$((runs + 1))
		# shellcheck disable=SC2086
		if ! env ${SIZE[$n]:-} bash tests/run.sh "e2e:$t"; then
			failed=$((failed + 1))
			failures+=("round $round: $t")
		fi
	done
done
echo
echo "=== soak ($((SECONDS - T0)) s)"
[ ${#failures[@]} -gt 0 ] && printf '  failed: %s\n' "${failures[@]}"
echo "soak: $runs runs, $failed failed"
[ "$failed" = 0 ]
