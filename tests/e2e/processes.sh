#!/usr/bin/env bash
# reconcilerd among other processes: `reconcilerctl sync` without a control
# socket signals the daemon, and only the daemon (a pid file naming another
# process is refused, that process survives); reconcilerctl opening the
# journal read-write leaves the daemon's running cycle alone; a SIGHUP that
# changes what the daemon bound at its start (listen, ...) is refused with a
# log line asking for a restart, the old listener serving on, while the rest
# of the config applies.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-proc
dl_repo_init
DL_MANIFEST=manifests/proc.yaml
mkdir -p "$DL_WORK/manifests"
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-proc
services:
  idle:
    image: $IMG_SLEEPER
EOT
rev1=$(dl_commit_push "proc: one idle service")

port1=$(e2e_free_port)
port2=$(e2e_free_port)
while [ "$port2" = "$port1" ]; do port2=$(e2e_free_port); done
conf=$E2E_TMP/reconciler.yaml
config() { # LISTEN-PORT POLL
	cat >"$conf" <<EOT
repo: $DL_REPO_URL
branch: main
manifest: $DL_MANIFEST
state_dir: $DL_STATE
secrets_dir: $E2E_SECRETS
poll_interval: $2
control_socket: ""
listen: 127.0.0.1:$1
EOT
}
config "$port1" 300s
check "the daemon starts without a control socket" dl_daemon_start -c "$conf"
check "it converges" dl_wait_head 90 "$rev1" "in-sync converged"
healthz() { test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/healthz")" = 200; }
check "the listener answers on port $port1" healthz "$port1"

# -------------------------------------------------------------- sync by signal
mark=$(dl_log_mark)
expect_exit "reconcilerctl sync --wait signals the daemon" 0 "$RECONCILERCTL" sync --wait --timeout 60s --state-dir "$DL_STATE"
expect_contains "it says so, with the daemon's pid" "sync requested from reconcilerd (pid $DL_DAEMON_PID)"
check "the cycle it started says trigger=signal" grep -q 'cycle trigger=signal' <(dl_log_since "$mark")

# The pid file now names an innocent process (as after a crash and a PID
# reused): the daemon holds the lock, that process does not.
sleep 120 &
innocent=$!
cp "$DL_STATE/reconcilerd.pid" "$E2E_TMP/reconcilerd.pid.saved"
echo "$innocent" >"$DL_STATE/reconcilerd.pid"
expect_exit "sync with a pid file naming another process fails" 2 "$RECONCILERCTL" sync --state-dir "$DL_STATE"
expect_contains "and says the daemon is not running" "reconcilerd is not running: pid $innocent"
expect_contains "because that process does not hold the lock" "does not hold the lock of '$DL_STATE'"
check "the innocent process survives" kill -0 "$innocent"
check "and the daemon runs on" dl_daemon_alive
cp "$E2E_TMP/reconcilerd.pid.saved" "$DL_STATE/reconcilerd.pid"
kill "$innocent" 2>/dev/null

# -------------------------------------------------------------- the journal
# A cycle that waits (a start-first rollout behind a slow gate) while
# reconcilerctl sync --retry opens the journal read-write: the cycle is not
# marked interrupted, and it ends as it should.
cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-proc
services:
  idle:
    image: $IMG_SLEEPER
    healthcheck:
      test: ["CMD-SHELL", "sleep 10"]
      interval: 1s
      timeout: 15s
      retries: 3
EOT
rev2=$(dl_commit_push "proc: a slow gate")
mark=$(dl_log_mark)
"$RECONCILERCTL" sync --state-dir "$DL_STATE" >/dev/null 2>&1
gating() { dl_log_since "$mark" | grep -q 'service=idle waiting for the health gate'; }
check "the rollout waits on its gate" rt_wait 60 gating
open_cycle() {
	"$E2E_PYTHON" - "$DL_STATE/journal.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
row = db.execute("SELECT outcome, ended FROM cycles ORDER BY id DESC LIMIT 1").fetchone()
print("open" if row and row[0] is None and row[1] is None else "%s" % (row,))
PY
}
check "its cycle is open in the journal ($(open_cycle))" test "$(open_cycle)" = open
expect_exit "sync --retry opens the journal read-write meanwhile" 0 "$RECONCILERCTL" sync --retry --state-dir "$DL_STATE"
expect_contains "and clears the quarantine" "cleared 0 quarantined"
check "the daemon's cycle is still open ($(open_cycle))" test "$(open_cycle)" = open
check "the rollout converges" dl_wait_head 120 "$rev2" "in-sync converged"
last=$("$E2E_PYTHON" - "$DL_STATE/journal.db" "$rev2" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT outcome FROM cycles WHERE revision = ? ORDER BY id LIMIT 1",
                 (sys.argv[2],)).fetchone()[0])
PY
)
check "and its journal row says converged ($last)" test "$last" = converged

# -------------------------------------------------------------- SIGHUP
# listen changes (and the poll interval): the listener stays where it was,
# the log says a restart is needed, the poll interval applies.
config "$port2" 200s
mark=$(dl_log_mark)
check "SIGHUP reloads the config" dl_daemon_reload
check "the log asks for a restart to apply listen" grep -q "reload .*a restart is needed to apply listen 127.0.0.1:$port1 -> 127.0.0.1:$port2" <(dl_log_since "$mark")
check "the rest applies (poll=200s)" grep -q 'config reloaded: poll=200s' <(dl_log_since "$mark")
check "the old listener still serves" healthz "$port1"
check "nothing listens on the new address" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$port2) 2>/dev/null"
# a state_dir change too: the daemon keeps its state dir, lock and pid file
sed -i "s|^state_dir: .*|state_dir: $E2E_TMP/elsewhere|" "$conf"
mark=$(dl_log_mark)
c0=$(dl_cycle)
check "SIGHUP with another state_dir" dl_daemon_reload
check "the log asks for a restart to apply state_dir" grep -q "a restart is needed to apply state_dir $DL_STATE -> $E2E_TMP/elsewhere; listen" <(dl_log_since "$mark")
check "a cycle after it runs in the old state dir" dl_wait_cycles 60 1 "$c0"
check "nothing was created in the new one" test ! -e "$E2E_TMP/elsewhere"
expect_exit "sync still finds the daemon" 0 "$RECONCILERCTL" sync --state-dir "$DL_STATE"
check "the old listener still serves" healthz "$port1"
dl_daemon_stop 60
check "the daemon exits cleanly" test "$DL_DAEMON_RC" = 0
