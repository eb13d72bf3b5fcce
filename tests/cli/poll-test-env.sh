#!/usr/bin/env bash
# RECONCILER_TEST_POLL_MS (tests and bench/memory.sh only) replaces the poll
# interval below the 1 s a config may ask for; below 10 ms or not a number it
# is ignored. Needs no engine: the start line says the interval, and cycles
# follow one another at it (they fail here: the remote does not exist).
. "$(dirname "$0")/lib.sh"
RECONCILERD=${RECONCILERD:-build/reconcilerd}

tmp=$(mktemp -d)
pid=
stop() {
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}
trap 'stop; rm -rf "$tmp"' EXIT

# start_with VALUE: the daemon with the variable set to VALUE, until its start line
start_with() {
	mkdir -p "$tmp/state" "$tmp/secrets"
	chmod 700 "$tmp/state" "$tmp/secrets"
	: >"$tmp/log"
	RECONCILER_TEST_POLL_MS=$1 "$RECONCILERD" --repo "file://$tmp/nowhere.git" \
		--state-dir "$tmp/state" --secrets-dir "$tmp/secrets" --poll 2s \
		--docker-host "unix://$tmp/no.sock" >"$tmp/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q 'info  start ' "$tmp/log" && return 0
		sleep 0.05
	done
	return 1
}
start_line() { grep 'info  start ' "$tmp/log"; }

check "the daemon starts with RECONCILER_TEST_POLL_MS=50" start_with 50
out=$(start_line)
expect_contains "its start line says poll=50ms" "poll=50ms "
# cycles that fail back off from the interval (50, 100, 200, 400 ms...): four
# within 3 s by the daemon's own count, where --poll 2s alone allows two
cycles() {
	curl -s --max-time 2 --unix-socket "$tmp/state/reconcilerd.sock" http://r/metrics |
		awk '$1 ~ /^reconciler_sync_cycles_total/ { n += $2 } END { print n + 0 }'
}
_cycles_at_least() { [ "$(cycles)" -ge "$1" ]; }
for _ in $(seq 60); do _cycles_at_least 4 && break; sleep 0.05; done
check "cycles follow at the short interval (4 within 3 s: $(cycles))" _cycles_at_least 4
stop

for v in 5 abc ""; do
	check "the daemon starts with RECONCILER_TEST_POLL_MS='$v'" start_with "$v"
	out=$(start_line)
	expect_contains "which is ignored: poll=2s" "poll=2s "
	stop
done
