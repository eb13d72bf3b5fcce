#!/usr/bin/env bash
# What the operator sees: the log and the journal tell changes, not
# repetitions. A daemon polling every second and left in sync logs one cycle
# line, not one per poll; a service blocked by a foreign container logs its
# warning once and adds no journal row per poll (the first row counts the
# repeats); the change that ends it is logged; a cycle started by an engine
# event (a `docker stop` of a managed container) says trigger=event; an error
# (the remote gone) is logged once, not at every try.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-quiet
dl_repo_init
DL_MANIFEST=manifests/quiet.yaml
mkdir -p "$DL_WORK/manifests"
manifest() { # SERVICE...
	{
		printf 'version: 1\nproject: rt-quiet\nservices:\n'
		for s in "$@"; do
			printf '  %s:\n    image: %s\n' "$s" "$IMG_SLEEPER"
		done
	} >"$DL_WORK/$DL_MANIFEST"
}
manifest idle
rev1=$(dl_commit_push "quiet: one idle service")
# shellcheck disable=SC2034 # read by dl_daemon_args
DL_POLL=1s
dl_daemon_args
check "the daemon starts with a 1 s poll" dl_daemon_start "${DL_ARGS[@]}"
check "it converges" dl_wait_head 90 "$rev1" "in-sync converged"
cycle_lines() { dl_log_since "$1" | grep -c ' cycle trigger='; }

# ---------------------------------------------------------------- in sync
check "a cycle in sync follows" dl_wait_status 60 'd.get("state") == "in-sync"'
mark=$(dl_log_mark)
c0=$(dl_cycle)
check "ten more cycles end, one a second" dl_wait_cycles 90 10 "$c0"
n=$(cycle_lines "$mark")
check "the log has at most one cycle line for them, not ten ($n)" test "$n" -le 1
check "the whole run logged two: converged, then in sync" test "$(cycle_lines 0)" -le 2
check "status.json still counts every cycle" test "$(dl_cycle)" -ge $((c0 + 10))

# ---------------------------------------------------------------- blocked
# A container the project does not manage holds the name of a new service:
# the service is blocked, every poll.
e2e_run --name rt-quiet-other "$IMG_SLEEPER" >/dev/null
manifest idle other
mark=$(dl_log_mark)
rev2=$(dl_commit_push "quiet: a second service, whose name is taken")
check "the daemon reports the block" dl_wait_head 60 "$rev2" degraded
history_rows() {
	"$RECONCILERCTL" history --json --limit 1000 --state-dir "$DL_STATE" |
		"$E2E_PYTHON" -c 'import json, sys; print(len(json.load(sys.stdin)))'
}
repeats() {
	"$RECONCILERCTL" history --json --limit 1 --state-dir "$DL_STATE" |
		"$E2E_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0].get("repeats", 0))'
}
check "a cycle after that" dl_wait_cycles 30 1
h0=$(history_rows)
mark2=$(dl_log_mark)
c0=$(dl_cycle)
check "eight more cycles end, still blocked" dl_wait_cycles 90 8 "$c0"
check "still degraded" test "$(dl_status 'd["state"]')" = degraded
h1=$(history_rows)
check "the journal did not grow one row per poll ($h0 -> $h1 rows)" test "$h1" = "$h0"
r=$(repeats)
check "the blocked cycle's row counts the repeats ($r)" test "$r" -ge 8
n=$(cycle_lines "$mark2")
check "no cycle line for the eight repeats ($n)" test "$n" -eq 0
n=$(dl_log_since "$mark" | grep -c 'service=other outcome=blocked')
check "the block is logged once, not per poll ($n)" test "$n" -eq 1
n=$(dl_log_since "$mark" | grep -c ' warn  cycle trigger=')
check "and its warning once ($n)" test "$n" -eq 1
out=$("$RECONCILERCTL" history --limit 1 --state-dir "$DL_STATE" 2>&1)
expect_contains "reconcilerctl history shows the repeats" "repeated "

# The change that ends it is logged.
mark=$(dl_log_mark)
docker rm -f rt-quiet-other >/dev/null
check "the service is created once its name is free" dl_wait_head 60 "$rev2" "converged in-sync"
check "that cycle is logged" grep -q 'outcome=converged' <(dl_log_since "$mark")

# ---------------------------------------------------------------- error
# The remote goes away: the cycles end in error (backing off), the first one
# is logged, the ones that repeat it are not; its return is logged.
check "in sync before the remote goes" dl_wait_status 60 'd.get("state") == "in-sync"'
mark=$(dl_log_mark)
mv "$DL_REMOTE" "$DL_REMOTE.away"
check "the daemon reports the error" dl_wait_status 60 'd.get("state") == "error"'
c0=$(dl_cycle)
check "three more cycles end in error" dl_wait_cycles 90 3 "$c0"
n=$(dl_log_since "$mark" | grep -c ' error cycle trigger=')
check "the error's cycle line is written once ($n)" test "$n" -eq 1
n=$(dl_log_since "$mark" | grep -c 'keeping the last good revision')
check "and so is the fallback to the last good revision ($n)" test "$n" -eq 1
mark=$(dl_log_mark)
mv "$DL_REMOTE.away" "$DL_REMOTE"
check "the remote back, the daemon is in sync again" dl_wait_status 120 'd.get("state") == "in-sync"'
check "which is logged" grep -q 'cycle trigger=.* outcome=in-sync' <(dl_log_since "$mark")

# ---------------------------------------------------------------- event
# With a poll far beyond the test (a 1 s poll may notice the stopped
# container before the event arrives): the daemon again, polling every 300 s.
dl_daemon_stop 60
# shellcheck disable=SC2034 # read by dl_daemon_args
DL_POLL=300s
dl_daemon_args
mark=$(dl_log_mark)
check "the daemon starts again with a 300 s poll" dl_daemon_start "${DL_ARGS[@]}"
first() { dl_log_since "$mark" | grep -q 'cycle trigger=poll .* outcome=in-sync'; }
check "its first cycle finds everything in sync" rt_wait 60 first
mark=$(dl_log_mark)
docker stop -t 1 rt-quiet-idle >/dev/null
running() { test "$(docker inspect -f '{{.State.Running}}' rt-quiet-idle 2>/dev/null)" = true; }
check "a stopped container is started again" rt_wait 60 running
healed() { dl_log_since "$mark" | grep -q 'cycle trigger=event revision=.* outcome=converged'; }
check "by a cycle logged with trigger=event" rt_wait 30 healed
if ! healed; then dl_log_since "$mark" | sed 's/^/#   /'; fi

# The same while a cycle runs (a rollout waiting on a slow gate): the event
# waits for the cycle, and the cycle after it says trigger=event too.
cat >>"$DL_WORK/$DL_MANIFEST" <<EOT
  slow:
    image: $IMG_SLEEPER
    healthcheck:
      test: ["CMD-SHELL", "sleep 8"]
      interval: 1s
      timeout: 15s
      retries: 3
EOT
rev3=$(dl_commit_push "quiet: a service behind a slow gate")
mark=$(dl_log_mark)
"$RECONCILERCTL" sync --state-dir "$DL_STATE" >/dev/null
gating() { dl_log_since "$mark" | grep -q 'service=slow waiting for the health gate'; }
check "a rollout waits on its gate" rt_wait 60 gating
docker stop -t 1 rt-quiet-idle >/dev/null
check "the rollout ends" dl_wait_head 90 "$rev3" "converged in-sync"
check "the container stopped meanwhile is started again" rt_wait 60 running
check "by a cycle logged with trigger=event" rt_wait 30 healed
if ! healed; then dl_log_since "$mark" | sed 's/^/#   /'; fi
dl_daemon_stop 60
check "the daemon exits cleanly" test "$DL_DAEMON_RC" = 0
