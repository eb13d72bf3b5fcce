# shellcheck shell=bash disable=SC2034 # the DL_* variables are outputs for the caller
# Shared helpers for the end-to-end scenarios that run reconcilerd itself
# (tests/e2e/rollout.sh, the crash tests, ...). Sources tests/e2e/lib.sh, so
# everything there (e2e_setup, e2e_ctl, e2e_run, e2e_cid, e2e_state,
# e2e_free_port, e2e_jq, ok/fail/check/expect_*) is available too.
#
#   . "$(dirname "$0")/daemon-lib.sh"
#   dl_setup rt-NAME                e2e_setup; RECONCILERD and RECONCILERCTL
#                                   then name copies in $E2E_TMP/bin (builds
#                                   elsewhere cannot swap them mid-run); and a
#                                   cleanup that first stops every reconcilerd,
#                                   git daemon and event stream started here
#                                   (before the project's containers go),
#                                   keeping the exit status
#
# Git
#   dl_repo_init [DIR]              bare remote DIR/remote.git (branch main) and
#                                   a work tree DIR/work whose remotes "origin"
#                                   and "direct" both name it (origin may be
#                                   repointed, e.g. to DL_GIT_URL); sets
#                                   DL_REMOTE, DL_WORK, DL_REPO_URL (file://…).
#                                   DIR defaults to $E2E_TMP/git
#   dl_commit_push MSG [REMOTE]     in $DL_WORK: add -A, commit (even if empty),
#                                   push HEAD to REMOTE's main (origin); prints
#                                   the new commit id (call it as $(...))
#   dl_push [REMOTE]                push HEAD of $DL_WORK to REMOTE's main
#   dl_git_daemon_start [PORT]      git daemon on 127.0.0.1 serving the parent
#                                   of $DL_REMOTE (receive-pack enabled); sets
#                                   DL_GIT_PORT and DL_GIT_URL (git://…/remote.git).
#                                   Reuses DL_GIT_PORT when set (a restart)
#   dl_git_daemon_stop              stop it (only the PID started here)
#
# reconcilerd
#   DL_STATE                        its state dir (default $E2E_STATE); status.json
#                                   and reconcilerd.pid are read there
#   DL_LOG                          its stderr, appended (default $E2E_TMP/reconcilerd.log)
#   dl_daemon_start ARGS…           run "$RECONCILERD ARGS…" in the background
#                                   (environment prefixes such as
#                                   RECONCILER_CRASH_AT=x pass through); waits
#                                   for its pidfile; sets DL_DAEMON_PID
#   dl_daemon_args                  sets the array DL_ARGS to --repo/--branch/
#                                   --manifest/--state-dir/--secrets-dir/--poll
#                                   from DL_REPO_URL, DL_MANIFEST (path in the
#                                   repo), DL_STATE, E2E_SECRETS, DL_POLL (1s):
#                                   dl_daemon_args; dl_daemon_start "${DL_ARGS[@]}"
#   dl_daemon_alive                 the daemon started last still runs
#   dl_daemon_wait_exit TIMEOUT     wait for it to exit by itself; DL_DAEMON_RC
#   dl_daemon_stop [TIMEOUT] [SIG]  send SIG (TERM), wait, KILL after TIMEOUT
#                                   (30 s); DL_DAEMON_RC is its exit status
#   dl_daemon_signal SIG            kill -SIG the daemon started last
#   dl_daemon_reload                SIGHUP, and wait for the log to answer;
#                                   resends when the daemon said a cycle was
#                                   running. Status 0 on "config reloaded";
#                                   DL_RELOAD_LINE holds the answer line
#   dl_once ARGS…                   run "$RECONCILERD --once ARGS…" in the
#                                   foreground, stderr to DL_LOG; DL_ONCE_RC
#
# status.json
#   dl_status EXPR                  a Python expression over the document `d`
#                                   (strings as is, the rest as JSON)
#   dl_wait_status TIMEOUT EXPR     poll until EXPR is true (status 1 on timeout)
#   dl_cycle                        the "cycle" value (0 when no status yet)
#   dl_wait_cycles TIMEOUT N [AFTER] wait until N cycles ended after AFTER (the
#                                   current cycle value by default)
#   dl_wait_quiet QUIET TIMEOUT     wait until no cycle ended for QUIET seconds
#                                   (for a daemon with a long poll interval)
#   dl_wait_head TIMEOUT COMMIT [STATES]  head == COMMIT and state in STATES
#                                   (default "in-sync"); e.g. "degraded"
#   dl_diag                         status.json and the log's tail as "# " lines
#
# Docker socket proxy
#   dl_proxy_start DIR [CONFIG]     haproxy with CONFIG (default the shipped
#                                   contrib/docker-socket-proxy/haproxy.cfg) on
#                                   DIR/docker.sock, stopped at cleanup; sets
#                                   DL_PROXY_HOST (unix://DIR/docker.sock) and
#                                   DL_PROXY_LOG (every request, one a line)
#
# Engine events (a live `docker events` stream: the engine keeps only its last
# 256 events, too few on a busy machine for `docker events --since` after the fact)
#   dl_events_start [DOCKER-EVENTS-ARGS…]  e.g. --filter label=io.reconciler.project=P
#   dl_events_stop                  ends it; DL_EVENTS holds one line per event:
#                                   "TIMENANO ACTION ID NAME EXECID" (spaces in
#                                   ACTION replaced by _, "-" for no exec ID)
#
# Log
#   dl_log_mark                     prints the log's current line count
#   dl_log_since MARK               the log lines written after MARK
#
# tests/run.sh runs every tests/e2e/*.sh: executed rather than sourced, this
# file does nothing and prints nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	exit 0
fi

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RECONCILERD=${RECONCILERD:-$E2E_TOP/${BUILD:-build}/reconcilerd}
DL_GIT_NAME="rt e2e"
DL_GIT_EMAIL="rt-e2e@localhost"
DL_POLL=${DL_POLL:-1s}
DL_PIDFILES=()

dl_setup() {
	e2e_setup "$1"
	if [ ! -x "$RECONCILERD" ]; then
		fail "setup: $RECONCILERD is missing (run make)"
		exit 1
	fi
	DL_SRC_RECONCILERD=$RECONCILERD
	DL_SRC_RECONCILERCTL=$RECONCILERCTL
	# a snapshot of the programs: other work may rebuild build/ meanwhile
	if ! rt_wait 120 _dl_snapshot_bins; then
		fail "setup: cannot copy working $RECONCILERD and $RECONCILERCTL"
		exit 1
	fi
	DL_STATE=${DL_STATE:-$E2E_STATE}
	DL_LOG=${DL_LOG:-$E2E_TMP/reconcilerd.log}
	: >"$DL_LOG"
	trap dl_cleanup EXIT
}

# _dl_snapshot_bins: copy reconcilerd and reconcilerctl to $E2E_TMP/bin (once
# both answer --version: a link may be in progress) and use the copies.
_dl_snapshot_bins() {
	local d=$E2E_TMP/bin
	mkdir -p "$d"
	cp "$DL_SRC_RECONCILERD" "$d/reconcilerd.tmp" 2>/dev/null &&
		cp "$DL_SRC_RECONCILERCTL" "$d/reconcilerctl.tmp" 2>/dev/null &&
		"$d/reconcilerd.tmp" --version >/dev/null 2>&1 &&
		"$d/reconcilerctl.tmp" --version >/dev/null 2>&1 &&
		mv -f "$d/reconcilerd.tmp" "$d/reconcilerd" &&
		mv -f "$d/reconcilerctl.tmp" "$d/reconcilerctl" || return 1
	RECONCILERD=$d/reconcilerd
	RECONCILERCTL=$d/reconcilerctl
}

# dl_cleanup: stop what was started here, then e2e_cleanup (which removes the
# project's objects and reports leftovers). Keeps the exit status.
dl_cleanup() {
	local rc=$? pf
	trap - EXIT
	for pf in "${DL_PIDFILES[@]}"; do
		[ -f "$pf" ] || continue
		case $pf in
		*.git-daemon.pid) rt_stop_pidfile "$pf" git-daemon 10 >/dev/null 2>&1 ;;
		*.events.pid) rt_stop_pidfile "$pf" docker 10 >/dev/null 2>&1 ;;
		*.receiver.pid) rt_stop_pidfile "$pf" python3 10 >/dev/null 2>&1 ;;
		*/haproxy.pid) "$E2E_TOP/tests/env/proxy-down.sh" "${pf%/*}" >/dev/null 2>&1 ;;
		*) rt_stop_pidfile "$pf" reconcilerd 30 >/dev/null 2>&1 ;;
		esac
	done
	if [ "$rc" != 0 ] && [ -n "${DL_LOG:-}" ] && [ -f "$DL_LOG" ]; then
		echo "# reconcilerd log (last 40 lines):"
		tail -n 40 "$DL_LOG" | sed 's/^/#   /'
	fi
	(exit "$rc")
	e2e_cleanup
}

_dl_register_pidfile() {
	local pf
	for pf in "${DL_PIDFILES[@]}"; do
		[ "$pf" = "$1" ] && return 0
	done
	DL_PIDFILES+=("$1")
}

# dl_receiver_start OUT [HMAC_KEY]: a notification receiver, a small HTTP
# server on loopback ($DL_RECEIVER_PORT) that answers 204 and records each
# POST as one JSON line in OUT: {"path", "body", "signed"}, where "signed" says
# whether X-Reconciler-Signature-256 is the HMAC-SHA256 of the body under
# HMAC_KEY. Stopped by dl_cleanup.
dl_receiver_start() {
	local pf=$E2E_TMP/$RANDOM.receiver.pid
	DL_RECEIVER_PORT=$(e2e_free_port)
	"$E2E_PYTHON" - "$DL_RECEIVER_PORT" "$1" "${2:-}" >/dev/null 2>&1 <<'PY' &
import hashlib, hmac, http.server, json, sys
port, out, key = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        sig = self.headers.get("X-Reconciler-Signature-256", "")
        good = bool(key) and sig == "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body.decode(), "signed": good}) + "\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
	echo $! >"$pf"
	_dl_register_pidfile "$pf"
	rt_wait 20 _dl_port_open "$DL_RECEIVER_PORT"
}

# ---------------------------------------------------------------- Git

_dl_git() {
	git -c user.name="$DL_GIT_NAME" -c user.email="$DL_GIT_EMAIL" -c commit.gpgsign=false \
		-c init.defaultBranch=main -c advice.detachedHead=false "$@"
}

dl_repo_init() {
	local dir=${1:-$E2E_TMP/git}
	mkdir -p "$dir"
	DL_REMOTE=$dir/remote.git
	DL_WORK=$dir/work
	DL_REPO_URL=file://$DL_REMOTE
	_dl_git init -q --bare -b main "$DL_REMOTE" || return 1
	_dl_git init -q -b main "$DL_WORK" || return 1
	_dl_git -C "$DL_WORK" remote add origin "$DL_REMOTE"
	# the direct path stays reachable under this name whatever origin becomes
	_dl_git -C "$DL_WORK" remote add direct "$DL_REMOTE"
}

dl_push() {
	local remote=${1:-origin}
	_dl_git -C "$DL_WORK" push -q "$remote" HEAD:refs/heads/main >&2
}

dl_commit_push() {
	local msg=$1 remote=${2:-origin}
	_dl_git -C "$DL_WORK" add -A >&2 &&
		_dl_git -C "$DL_WORK" commit -q --allow-empty -m "$msg" >&2 &&
		dl_push "$remote" &&
		_dl_git -C "$DL_WORK" rev-parse HEAD
}

_dl_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

dl_git_daemon_start() {
	local base pid pf exe
	base=$(dirname "$DL_REMOTE")
	DL_GIT_PORT=${1:-${DL_GIT_PORT:-$(e2e_free_port)}}
	pf=$E2E_TMP/git-daemon-$DL_GIT_PORT.git-daemon.pid
	exe=$(git --exec-path)/git-daemon
	# the git-daemon binary itself (not the "git" wrapper, which would fork
	# it): the PID recorded is the one that serves
	"$exe" --reuseaddr --base-path="$base" --export-all --enable=receive-pack \
		--listen=127.0.0.1 --port="$DL_GIT_PORT" "$base" \
		</dev/null >>"$E2E_TMP/git-daemon.log" 2>&1 &
	pid=$!
	printf '%s\n' "$pid" >"$pf"
	_dl_register_pidfile "$pf"
	DL_GIT_PIDFILE=$pf
	DL_GIT_URL=git://127.0.0.1:$DL_GIT_PORT/$(basename "$DL_REMOTE")
	if ! rt_wait 20 _dl_port_open "$DL_GIT_PORT"; then
		rt_tail "$E2E_TMP/git-daemon.log" >&2
		return 1
	fi
	rt_pid_alive "$pid"
}

dl_git_daemon_stop() {
	[ -n "${DL_GIT_PIDFILE:-}" ] || return 0
	rt_stop_pidfile "$DL_GIT_PIDFILE" git-daemon 10 >/dev/null
}

# ---------------------------------------------------------------- reconcilerd

# dl_daemon_args: fill the DL_ARGS array with the usual flags.
dl_daemon_args() {
	DL_ARGS=(--repo "$DL_REPO_URL" --branch main --manifest "$DL_MANIFEST"
		--state-dir "$DL_STATE" --secrets-dir "$E2E_SECRETS" --poll "$DL_POLL")
}

_dl_pidfile() { printf '%s\n' "$DL_STATE.reconcilerd-test.pid"; }

dl_daemon_start() {
	local pf
	pf=$(_dl_pidfile)
	"$RECONCILERD" "$@" </dev/null >>"$DL_LOG" 2>&1 &
	DL_DAEMON_PID=$!
	printf '%s\n' "$DL_DAEMON_PID" >"$pf"
	_dl_register_pidfile "$pf"
	# started once the daemon wrote its own pidfile (with its PID); an early
	# exit (bad flags, state dir locked by another daemon) fails at once
	rt_wait 30 _dl_started "$DL_DAEMON_PID"
	_dl_own_pidfile_is "$DL_DAEMON_PID" && dl_daemon_alive
}
_dl_started() { _dl_own_pidfile_is "$1" || ! kill -0 "$1" 2>/dev/null; }
_dl_own_pidfile_is() {
	[ "$(rt_pid_from_file "$DL_STATE/reconcilerd.pid" 2>/dev/null)" = "$1" ]
}

dl_daemon_alive() {
	[ -n "${DL_DAEMON_PID:-}" ] && rt_pid_alive "$DL_DAEMON_PID" reconcilerd
}

dl_daemon_signal() {
	dl_daemon_alive && kill "-$1" "$DL_DAEMON_PID"
}

dl_daemon_wait_exit() {
	local timeout=${1:-30}
	DL_DAEMON_RC=
	[ -n "${DL_DAEMON_PID:-}" ] || return 1
	rt_wait "$timeout" rt_pid_gone "$DL_DAEMON_PID" || return 1
	wait "$DL_DAEMON_PID" 2>/dev/null
	DL_DAEMON_RC=$?
	rm -f "$(_dl_pidfile)"
	return 0
}

dl_daemon_stop() {
	local timeout=${1:-30} sig=${2:-TERM}
	DL_DAEMON_RC=
	[ -n "${DL_DAEMON_PID:-}" ] || return 0
	if kill -0 "$DL_DAEMON_PID" 2>/dev/null; then
		kill "-$sig" "$DL_DAEMON_PID" 2>/dev/null
		if ! rt_wait "$timeout" rt_pid_gone "$DL_DAEMON_PID"; then
			kill -KILL "$DL_DAEMON_PID" 2>/dev/null
			rt_wait 10 rt_pid_gone "$DL_DAEMON_PID"
		fi
	fi
	wait "$DL_DAEMON_PID" 2>/dev/null
	DL_DAEMON_RC=$?
	rm -f "$(_dl_pidfile)"
	return 0
}

dl_daemon_reload() {
	local tries mark line
	DL_RELOAD_LINE=
	DL_RELOAD_TRIES=0
	for tries in 1 2 3 4 5 6 7 8 9 10; do
		DL_RELOAD_TRIES=$tries
		mark=$(dl_log_mark)
		dl_daemon_signal HUP || return 1
		if ! rt_wait 15 _dl_reload_answered "$mark"; then
			return 1
		fi
		line=$(dl_log_since "$mark" | grep -E 'config reloaded|config not reloaded|SIGHUP again' | head -n 1)
		DL_RELOAD_LINE=$line
		case $line in
		*"SIGHUP again"*) sleep 0.3 ;;
		*"config reloaded"*) return 0 ;;
		*) return 1 ;;
		esac
	done
	return 1
}
_dl_reload_answered() {
	dl_log_since "$1" | grep -qE 'config reloaded|config not reloaded|SIGHUP again'
}

dl_once() {
	"$RECONCILERD" --once "$@" </dev/null >>"$DL_LOG" 2>&1
	DL_ONCE_RC=$?
}

# ---------------------------------------------------------------- status.json

dl_status() {
	[ -f "$DL_STATE/status.json" ] || return 1
	e2e_jq "$DL_STATE/status.json" "$1"
}

dl_wait_status() {
	"$E2E_PYTHON" - "$DL_STATE/status.json" "$1" "$2" <<'EOF'
import json, sys, time
path, timeout, expr = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + timeout
while True:
    try:
        with open(path) as f:
            d = json.load(f)
        if eval(expr, {"d": d}):
            sys.exit(0)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.1)
EOF
}

dl_cycle() {
	dl_status 'd.get("cycle") or 0' 2>/dev/null || echo 0
}

dl_wait_cycles() {
	local timeout=$1 n=$2 after=${3:-}
	[ -n "$after" ] || after=$(dl_cycle)
	"$E2E_PYTHON" - "$DL_STATE/status.json" "$timeout" "$n" "$after" <<'EOF'
import json, sys, time
path, timeout, n, after = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + timeout
seen = set()
while True:
    try:
        with open(path) as f:
            c = json.load(f).get("cycle") or 0
        if c > after:
            seen.add(c)
        if len(seen) >= n:
            sys.exit(0)
    except (OSError, ValueError):
        pass
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.05)
EOF
}

dl_wait_quiet() {
	local quiet=$1 timeout=$2 deadline=$((SECONDS + $2)) c
	while [ "$SECONDS" -lt "$deadline" ]; do
		c=$(dl_cycle)
		sleep "$quiet"
		[ "$(dl_cycle)" = "$c" ] && return 0
	done
	return 1
}

dl_wait_head() {
	local timeout=$1 commit=$2 states=${3:-in-sync}
	dl_wait_status "$timeout" "d.get('head') == '$commit' and d.get('state') in '$states'.split()"
}

dl_diag() {
	echo "# status.json:"
	sed 's/^/#   /' "$DL_STATE/status.json" 2>/dev/null
	echo "# reconcilerd log (last 25 lines):"
	tail -n 25 "$DL_LOG" 2>/dev/null | sed 's/^/#   /'
}

# ---------------------------------------------------------------- socket proxy

dl_proxy_start() {
	local dir=$1 config=${2:-}
	_dl_register_pidfile "$dir/haproxy.pid"
	DL_PROXY_HOST=$("$E2E_TOP/tests/env/proxy-up.sh" ${config:+-c "$config"} "$dir" | tail -n 1) ||
		return 1
	DL_PROXY_LOG=$dir/haproxy.log
	[ "$DL_PROXY_HOST" = "unix://$dir/docker.sock" ]
}

# ---------------------------------------------------------------- engine events

dl_events_start() {
	local since
	since=$(date +%s.%N)
	DL_EVENTS_FILE=$(mktemp "$E2E_TMP/events.XXXXXX")
	docker events --since "$since" "$@" \
		--format '{{.TimeNano}}|{{.Action}}|{{.Actor.ID}}|{{index .Actor.Attributes "name"}}|{{index .Actor.Attributes "execID"}}' \
		</dev/null >"$DL_EVENTS_FILE" 2>/dev/null &
	DL_EVENTS_PID=$!
	DL_EVENTS_PIDFILE=$E2E_TMP/events-$DL_EVENTS_PID.events.pid
	printf '%s\n' "$DL_EVENTS_PID" >"$DL_EVENTS_PIDFILE"
	_dl_register_pidfile "$DL_EVENTS_PIDFILE"
}

dl_events_stop() {
	DL_EVENTS=
	[ -n "${DL_EVENTS_PID:-}" ] || return 1
	sleep 1 # what happened just before is on its way
	kill "$DL_EVENTS_PID" 2>/dev/null
	wait "$DL_EVENTS_PID" 2>/dev/null
	rm -f "$DL_EVENTS_PIDFILE"
	DL_EVENTS=$(awk -F'|' '{ a = $2; gsub(/ /, "_", a); x = $5 == "" ? "-" : $5; print $1, a, $3, $4, x }' \
		"$DL_EVENTS_FILE")
	DL_EVENTS_PID=
}

# ---------------------------------------------------------------- log

dl_log_mark() {
	wc -l <"$DL_LOG" | tr -d ' '
}

dl_log_since() {
	tail -n "+$(($1 + 1))" "$DL_LOG"
}
