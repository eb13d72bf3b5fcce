#!/usr/bin/env bash
# reconcilerctl sync without a control socket signals the process named in
# reconcilerd.pid only when that process holds the state directory's lock:
# after a crash the PID may belong to anything else, which SIGUSR1 would kill.
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
innocent=
holder=
cleanup() {
	[ -n "$innocent" ] && kill "$innocent" 2>/dev/null
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

state=$tmp/state
mkdir -m 700 "$state"
sleep 300 >/dev/null 2>&1 &
innocent=$!
echo "$innocent" >"$state/reconcilerd.pid"

# A stale pid file naming an innocent process, the lock free.
expect_exit "sync with a stale pid file fails" 2 "$RECONCILERCTL" sync --state-dir "$state"
expect_contains "and says the daemon is not running" "reconcilerd is not running"
expect_contains "names the stale pid file" "pid $innocent in '$state/reconcilerd.pid'"
check "the process the pid file names survives" kill -0 "$innocent"
expect_exit "sync --retry with a stale pid file fails too" 2 "$RECONCILERCTL" sync --retry --state-dir "$state"
expect_not_contains "and clears nothing" "cleared"
check "the process still survives" kill -0 "$innocent"

# The lock held, but by another process than the one the pid file names
# (another reconcilerctl apply, say): still not the daemon.
touch "$state/lock"
python3 -c 'import fcntl, sys, time; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(300)' \
	"$state/lock" >/dev/null 2>&1 </dev/null &
holder=$!
locked() { ! flock -xn "$state/lock" true; }
for _ in $(seq 50); do locked && break; sleep 0.1; done
check "the lock is held by another process" locked
expect_exit "sync with the lock held by someone else fails" 2 "$RECONCILERCTL" sync --state-dir "$state"
expect_contains "and says the daemon is not running" "reconcilerd is not running"
check "the process the pid file names survives" kill -0 "$innocent"

# The pid file names the process that holds the lock, but that process is not
# reconcilerd (its name says so): nothing is signalled either.
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
holder=
python3 - "$state" >/dev/null 2>&1 <<'PY' &
import fcntl, os, signal, sys, time
state = sys.argv[1]
signal.signal(signal.SIGUSR1, lambda *a: open(state + "/signalled", "w").close())
f = open(state + "/lock", "r+")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
with open(state + "/reconcilerd.pid.tmp", "w") as p:
    p.write("%d\n" % os.getpid())
os.rename(state + "/reconcilerd.pid.tmp", state + "/reconcilerd.pid")
time.sleep(300)
PY
holder=$!
own() { [ "$(cat "$state/reconcilerd.pid")" = "$holder" ]; }
for _ in $(seq 50); do own && break; sleep 0.1; done
check "a process that is not reconcilerd holds the lock and the pid file" own
expect_exit "sync refuses to signal it" 2 "$RECONCILERCTL" sync --state-dir "$state"
expect_contains "and says why" "holds the lock of '$state' but is 'python3'"
sleep 0.5
check "it was not signalled" test ! -e "$state/signalled"
