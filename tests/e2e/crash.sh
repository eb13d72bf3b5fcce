#!/usr/bin/env bash
# Crash safety of reconcilerd against the real engine and a real Git remote.
#
# The project has a start-first service (api, on a network alias), a
# stop-first one (web, on a 127.0.0.1 host port), a stateful one (store,
# start-first, named volume holding a marker written by this test) and a slow
# one (slow: its healthcheck passes only after a few seconds, start_period).
#
#  1. Crash matrix: for api, web and store, for every step the test hook
#     RECONCILER_CRASH_AT knows (created, started, gating, old-stopped,
#     renaming): commit a bump (v1 -> v2), `reconcilerd --once` with the hook
#     (it must die by SIGKILL, exit 137), then `reconcilerd --once` without it
#     until it says in-sync or converged (at most 3 runs). Then: exactly one
#     container per service (no -next), the service's container is the new
#     one (image, body, revision label = head, healthy), the volume data is
#     intact, `reconcilerctl diff` exits 0. For the start-first services, the
#     recovery never leaves the service without a running container (sampled);
#     probes of api's network alias during it are printed as "#" lines.
#  2. The same crash at "gating" towards an image that never gets healthy: the
#     recovery rolls back (exit 1), the old container (same ID) serves, the
#     revision stays quarantined, and `git revert` brings the project in sync.
#     A crash at "renaming" (<name>-next serving, the old one renamed
#     <name>-old) followed by a commit back to the old version before the
#     restart: the service ends on v1 under its name (stop-first: a new
#     container of the newest commit; start-first: the -old one, kept). The
#     journal keeps no crashed cycle open.
#  3. kill -9 of a running daemon (no test hook) during a long health gate,
#     then a restart: it converges the same way.
#  4. SIGTERM to a daemon during a long health gate: it finishes the step and
#     exits 0 (default shutdown timeout) - or, with a 2 s shutdown_timeout,
#     abandons it and exits 0 - and a restart converges.
#
# Needs tests/env/up.sh. Run: TIERS=e2e tests/run.sh, or bash tests/e2e/crash.sh
# CRASH_SERIES="api web store" and CRASH_STEPS="created ..." narrow the matrix;
# CRASH_PARTS="matrix unhealthy newcommit journal daemon" picks the parts;
# CRASH_KEEP_LOGS=DIR keeps the reconcilerd logs there;
# CRASH_PROJECT (default rt-crash) names the project. Two runs for the same
# project wait for each other (a lock under $RT_STATE).
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

RECONCILERD=${RECONCILERD:-$E2E_TOP/${BUILD:-build}/reconcilerd}
P=${CRASH_PROJECT:-rt-crash}
mkdir -p "$RT_STATE"
exec 8>"$RT_STATE/e2e-$P.lock"
if ! flock -w 1800 8; then
	fail "setup: another run holds $RT_STATE/e2e-$P.lock"
	exit 1
fi
e2e_setup "$P"
if [ ! -x "$RECONCILERD" ]; then
	fail "setup: $RECONCILERD is missing (run make)"
	exit 1
fi
tmp=$E2E_TMP
# Private copies: a rebuild during the run must not change the programs.
mkdir -p "$tmp/bin"
cp "$RECONCILERD" "$RECONCILERCTL" "$tmp/bin/"
RECONCILERD=$tmp/bin/${RECONCILERD##*/}
RECONCILERCTL=$tmp/bin/${RECONCILERCTL##*/}
REMOTE=$tmp/remote.git
WORK=$tmp/work
MF_REL=manifests/crash.yaml
MF=$WORK/$MF_REL
LOGS=$tmp/logs
mkdir -p "$LOGS"
PORT=$(e2e_free_port)
MARKER="rt-crash-marker-$RANDOM$RANDOM"
SLOW_SECS=8 # the slow service's healthcheck passes after this many seconds
SERIES=${CRASH_SERIES-api web store}
PARTS=${CRASH_PARTS:-matrix unhealthy newcommit journal daemon}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
STEPS=${CRASH_STEPS:-created started gating old-stopped renaming}
DARGS=(--repo "file://$REMOTE" --branch main --manifest "$MF_REL"
	--state-dir "$E2E_STATE" --secrets-dir "$E2E_SECRETS" --poll 1s)
DPID="" # the running daemon started by this script, if any
NRUN=0  # reconcilerd runs so far (log file numbering)

# Knobs of the manifest; commit renders them.
API_IMAGE=$IMG_WEB_V1
WEB_IMAGE=$IMG_WEB_V1
STORE_REV=1
SLOW_IMAGE=$IMG_WEB_V1

# ------------------------------------------------------------ cleanup

# child_gone PID: our child has exited (a zombie not yet waited for counts).
child_gone() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ]
}

cr_stop_daemon() {
	[ -n "$DPID" ] || return 0
	if ! child_gone "$DPID"; then
		kill -TERM "$DPID" 2>/dev/null
		rt_wait 90 child_gone "$DPID" || kill -KILL "$DPID" 2>/dev/null
	fi
	wait "$DPID" 2>/dev/null
	DPID=""
}

cr_cleanup() {
	local rc=$?
	cr_stop_daemon
	if [ -n "${CRASH_KEEP_LOGS:-}" ] && [ -d "${LOGS:-}" ]; then
		mkdir -p "$CRASH_KEEP_LOGS" && cp -a "$LOGS/." "$CRASH_KEEP_LOGS/"
	fi
	(exit "$rc")
	e2e_cleanup
}
trap cr_cleanup EXIT

# ------------------------------------------------------------ Git

write_manifest() {
	cat >"$MF" <<EOF
# rt-crash: written by tests/e2e/crash.sh
version: 1
project: $P

x-health: &health
  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
  interval: 1s
  timeout: 3s
  retries: 3

services:
  api:
    image: $API_IMAGE
    networks:
      app:
        aliases: [api-internal]
    healthcheck: *health

  web:
    image: $WEB_IMAGE
    ports:
      - "127.0.0.1:$PORT:8080"
    depends_on: [api]
    networks: [app]
    healthcheck: *health
    on_dependency_update:
      - service: api
        exec: ["true"]

  store:
    image: $IMG_STATEFUL
    environment:
      STORE_REV: "$STORE_REV"
    volumes:
      - store-data:/data
    networks: [app]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/boot.log"]
      interval: 1s
      timeout: 3s
      retries: 3

  slow:
    image: $SLOW_IMAGE
    command: ["/bin/sh", "-c", "date +%s >/t0; trap 'exit 0' TERM INT; httpd -f -p 8080 -h /www & wait"]
    networks: [app]
    healthcheck:
      test: ["CMD-SHELL", "[ \$((\$(date +%s) - \$(cat /t0))) -ge $SLOW_SECS ] && wget -q -O /dev/null http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 3s
      retries: 3
      start_period: 60s

networks:
  app: {}

volumes:
  store-data: {}
EOF
}

git_w() {
	git -C "$WORK" -c user.name=rt-crash -c user.email=rt-crash@localhost "$@"
}

# commit MESSAGE: render the manifest, commit and push it; $HEAD is the commit.
commit() {
	write_manifest
	git_w add "$MF_REL"
	git_w commit -q --allow-empty -m "$1"
	git_w push -q origin main 2>/dev/null
	HEAD=$(git_w rev-parse HEAD)
}

git init -q --bare -b main "$REMOTE"
git init -q -b main "$WORK"
git_w remote add origin "$REMOTE"
mkdir -p "$WORK/manifests"

# ------------------------------------------------------------ runs

# once NAME [ENV=VALUE...]: one `reconcilerd --once`; exit code in $rc, log in $runlog.
once() {
	local name=$1
	shift
	NRUN=$((NRUN + 1))
	runlog=$LOGS/$(printf '%03d' "$NRUN")-${name//[^A-Za-z0-9_.-]/_}.log
	# (the braces keep bash's "Killed" notice out of the TAP stream)
	{ env "$@" "$RECONCILERD" "${DARGS[@]}" --once >"$runlog" 2>&1 8>&-; } 2>/dev/null
	rc=$?
}

show_log() {
	[ -f "${1:-}" ] && tail -n "${2:-25}" "$1" | sed 's/^/#   /'
}

# recover NAME: run `reconcilerd --once` (no hook) until it exits 0 (in sync)
# or 3 (converged), at most 3 times; $codes lists the exit codes.
recover() {
	local name=$1 i
	codes=""
	for i in 1 2 3; do
		once "$name-recover$i"
		codes="$codes${codes:+,}$rc"
		case $rc in 0 | 3) break ;; esac
	done
	if [ "$rc" = 0 ] || [ "$rc" = 3 ]; then
		ok "$name: a normal --once reaches in-sync or converged (exit codes $codes)"
	else
		fail "$name: a normal --once reaches in-sync or converged (exit codes $codes)"
		show_log "$runlog"
	fi
}

# status_field KEY: a top-level field of status.json (empty if absent).
status_field() {
	[ -f "$E2E_STATE/status.json" ] || return 0
	e2e_jq "$E2E_STATE/status.json" "d.get('$1') if d.get('$1') is not None else ''" 2>/dev/null
}

# ------------------------------------------------------------ assertions

# containers: the names of the project's containers, sorted, space separated.
containers() {
	docker ps -a --filter "label=io.reconciler.project=$P" --format '{{.Names}}' | sort | tr '\n' ' ' |
		sed 's/ $//'
}
EXPECTED_CONTAINERS=$(printf '%s\n' "$P-api" "$P-web" "$P-store" "$P-slow" | sort | tr '\n' ' ')
EXPECTED_CONTAINERS=${EXPECTED_CONTAINERS% }

expect_one_each() {
	local got
	got=$(containers)
	if [ "$got" = "$EXPECTED_CONTAINERS" ]; then
		ok "$1: exactly one container per service, no -next ($got)"
	else
		fail "$1: exactly one container per service, no -next"
		echo "#   got:    $got"
		echo "#   wanted: $EXPECTED_CONTAINERS"
		docker ps -a --filter "label=io.reconciler.project=$P" \
			--format '#   {{.Names}} {{.Status}} {{.Image}}'
	fi
}

# inspect_c NAME: "image revision state/health" of a container.
inspect_c() {
	docker inspect --type container --format \
		'{{.Config.Image}} {{index .Config.Labels "io.reconciler.revision"}} {{.State.Status}}{{if .State.Health}}/{{.State.Health.Status}}{{end}}' \
		"$1" 2>/dev/null || echo missing
}

# body SERVICE: what the service answers on / (web through its host port,
# the others through docker exec in their own container).
body() {
	case $1 in
	web) curl -fsS -m 5 "http://127.0.0.1:$PORT/" 2>/dev/null ;;
	store) docker exec "$P-store" wget -qO- http://127.0.0.1:8080/marker 2>/dev/null ;;
	*) docker exec "$P-$1" wget -qO- http://127.0.0.1:8080/ 2>/dev/null ;;
	esac
}

# expect_serving NAME SERVICE IMAGE REVISION BODY: the service's container runs
# IMAGE, carries REVISION, is healthy and answers BODY.
expect_serving() {
	local name=$1 svc=$2 img=$3 rev=$4 want_body=$5 got want b
	# a check that timed out on a loaded host can flap the health for a
	# moment after the gate: give it a chance to be healthy again
	e2e_wait_state 20 "$P-$svc" running/healthy
	got=$(inspect_c "$P-$svc")
	want="$img $rev running/healthy"
	if [ "$got" = "$want" ]; then
		ok "$name: $P-$svc runs the expected image at revision ${rev:0:12}, healthy"
	else
		fail "$name: $P-$svc runs the expected image at revision ${rev:0:12}, healthy"
		echo "#   got:    $got"
		echo "#   wanted: $want"
	fi
	b=$(body "$svc")
	if [ "$b" = "$want_body" ]; then
		ok "$name: $svc answers '$want_body'"
	else
		fail "$name: $svc answers '$want_body' (got '$b')"
	fi
}

expect_store_rev() {
	local got
	got=$(docker inspect --type container --format '{{range .Config.Env}}{{println .}}{{end}}' \
		"$P-store" 2>/dev/null | sed -n 's/^STORE_REV=//p')
	if [ "$got" = "$2" ]; then ok "$1: $P-store has STORE_REV=$2"; else
		fail "$1: $P-store has STORE_REV=$2 (got '$got')"
	fi
}

expect_data() {
	local got vol
	got=$(docker exec "$P-store" cat /data/marker 2>/dev/null)
	vol=$(docker inspect --type container --format \
		'{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$P-store" 2>/dev/null)
	if [ "$got" = "$MARKER" ] && [ "$vol" = "${P}_store-data" ]; then
		ok "$1: the volume ${P}_store-data still holds the data written at the start"
	else
		fail "$1: the volume ${P}_store-data still holds the data written at the start (marker '$got', volume '$vol')"
	fi
}

expect_diff_clean() {
	expect_exit "$1: reconcilerctl diff exits 0" 0 e2e_ctl diff -f "$MF" --no-color
}

expect_status() {
	local name=$1 head state
	head=$(status_field head)
	state=$(status_field state)
	case $state in
	in-sync | converged) [ "$head" = "$HEAD" ] && { ok "$name: status.json says $state at the head"; return; } ;;
	esac
	fail "$name: status.json says in-sync or converged at the head (state '$state', head '${head:0:12}', want '${HEAD:0:12}')"
}

# set_version SERIES 1|2|unhealthy
set_version() {
	local img
	case $2 in
	1) img=$IMG_WEB_V1 ;;
	2) img=$IMG_WEB_V2 ;;
	unhealthy) img=$IMG_UNHEALTHY ;;
	esac
	case $1 in
	api) API_IMAGE=$img ;;
	web) WEB_IMAGE=$img ;;
	store) STORE_REV=$2 ;;
	slow) SLOW_IMAGE=$img ;;
	esac
}

expect_desired() {
	local name=$1 svc=$2
	case $svc in
	store)
		expect_serving "$name" store "$IMG_STATEFUL" "$HEAD" "$MARKER"
		expect_store_rev "$name" "$STORE_REV"
		;;
	*)
		local img_var=${svc^^}_IMAGE
		local img=${!img_var} want="web v1"
		[ "$img" = "$IMG_WEB_V2" ] && want="web v2"
		expect_serving "$name" "$svc" "$img" "$HEAD" "$want"
		;;
	esac
	if [ "$svc" = api ]; then
		local b
		b=$(docker exec "$P-web" wget -qO- http://api-internal:8080/ 2>/dev/null)
		if [ "$b" = "$want" ]; then
			ok "$name: the network alias api-internal reaches the new api"
		else
			fail "$name: the network alias api-internal reaches the new api (got '$b', wanted '$want')"
		fi
	fi
}

expect_all_healthy() {
	local s st bad=""
	for s in api web store slow; do
		e2e_wait_state 20 "$P-$s" running/healthy
		st=$(e2e_state "$P-$s")
		[ "$st" = running/healthy ] || bad="$bad $s=$st"
	done
	if [ -z "$bad" ]; then ok "$1: every service is running and healthy"; else
		fail "$1: every service is running and healthy:$bad"
	fi
}

# ------------------------------------------------------------ start

commit "crash: v1 everywhere"
once initial
if [ "$rc" = 3 ]; then ok "initial deploy: --once converges (exit 3)"; else
	fail "initial deploy: --once converges (exit $rc, wanted 3)"
	show_log "$runlog" 40
	exit 1
fi
docker exec "$P-store" sh -c "printf '%s\n' '$MARKER' >/data/marker"
expect_data "initial deploy"
expect_one_each "initial deploy"
expect_all_healthy "initial deploy"

# ------------------------------------------------------------ 1. matrix

# probe_start / probe_stop: from inside $P-web, GET http://api-internal:8080/
# in a loop (each try bounded by busybox timeout); probe_stop prints
# "TRIES FAILURES". Start-first promises that the alias never sees a gap.
probe_start() {
	docker exec "$P-web" rm -f /probe.stop
	{ docker exec "$P-web" sh -c 'while [ ! -f /probe.stop ]; do
		if timeout 2 wget -q -O /dev/null http://api-internal:8080/ 2>/dev/null; then echo ok; else echo FAIL; fi
		sleep 0.05
	done' >"$tmp/probe.out" 2>&1 8>&- & } 2>/dev/null
	PROBE_PID=$!
	rt_wait 20 sh -c "[ \$(wc -l <'$tmp/probe.out') -ge 3 ]"
}
probe_stop() {
	docker exec "$P-web" touch /probe.stop
	wait "$PROBE_PID" 2>/dev/null
	echo "$(wc -l <"$tmp/probe.out") $(grep -c FAIL "$tmp/probe.out")"
}

# running_start SERVICE / running_stop: sample, as often as the engine
# answers, how many of the service's containers run; running_stop prints
# "SAMPLES SAMPLES-WITH-NONE-RUNNING".
running_start() {
	rm -f "$tmp/running.stop"
	{ while [ ! -f "$tmp/running.stop" ]; do
		docker ps -q --filter "label=io.reconciler.project=$P" \
			--filter "label=io.reconciler.service=$1" --filter status=running | wc -l
	done >"$tmp/running.out" 2>/dev/null 8>&- & } 2>/dev/null
	RUNNING_PID=$!
	rt_wait 20 sh -c "[ \$(wc -l <'$tmp/running.out') -ge 2 ]"
}
running_stop() {
	touch "$tmp/running.stop"
	wait "$RUNNING_PID" 2>/dev/null
	echo "$(wc -l <"$tmp/running.out") $(grep -cx 0 "$tmp/running.out")"
}

# crash_scenario SERIES STEP
crash_scenario() {
	local svc=$1 step=$2 name="$1 crash at $2" prev_id
	# back to v1 first (a normal converge, unless it is already there)
	set_version "$svc" 1
	commit "crash: $svc back to v1"
	[ "$svc" = api ] && probe_start
	once "$svc-$step-reset"
	if [ "$svc" = api ]; then
		read -r ptries pfails < <(probe_stop)
		echo "# $name: control, a normal api rollout: $pfails of $ptries probes of api-internal failed"
	fi
	case $rc in 0 | 3) ;; *)
		fail "$name: resetting $svc to v1 (exit $rc)"
		show_log "$runlog"
		return
		;;
	esac
	prev_id=$(e2e_cid "$P-$svc")
	set_version "$svc" 2
	commit "crash: bump $svc to v2"
	once "$svc-$step-crash" RECONCILER_CRASH_AT="$step"
	if [ "$rc" = 137 ]; then
		ok "$name: reconcilerd --once died by SIGKILL (exit 137)"
	else
		fail "$name: reconcilerd --once died by SIGKILL (exit $rc, wanted 137)"
		show_log "$runlog"
	fi
	if grep -q "step=$step" "$runlog"; then ok "$name: it crashed at the $step step"; else
		fail "$name: it crashed at the $step step (no crash line in its log)"
		show_log "$runlog"
	fi
	[ "$svc" = api ] && probe_start
	[ "$svc" = web ] || running_start "$svc"
	recover "$name"
	if [ "$svc" != web ]; then
		read -r msamples mzero < <(running_stop)
		if [ "$mzero" = 0 ]; then
			ok "$name: $svc (start-first) had a running container throughout the recovery ($msamples samples)"
		else
			fail "$name: $svc (start-first) had a running container throughout the recovery (none running in $mzero of $msamples samples)"
		fi
	fi
	if [ "$svc" = api ]; then
		read -r ptries pfails < <(probe_stop)
		echo "# $name: during the recovery, $pfails of $ptries probes of api-internal failed"
	fi
	expect_one_each "$name"
	expect_desired "$name" "$svc"
	if [ "$(e2e_cid "$P-$svc")" != "$prev_id" ]; then
		ok "$name: $P-$svc is a new container"
	else
		fail "$name: $P-$svc is a new container (still the v1 one)"
	fi
	expect_all_healthy "$name"
	expect_data "$name"
	expect_status "$name"
	expect_diff_clean "$name"
}

if part matrix; then
	for svc in $SERIES; do
		for step in $STEPS; do
			crash_scenario "$svc" "$step"
		done
	done
fi

# ------------------------------------------------------------ 2. unhealthy

# unhealthy_scenario SERVICE: a crash in the gate of an image that never gets
# healthy; the old container must come back and stay.
unhealthy_scenario() {
	local svc=$1 name="$1 unhealthy, crash at gating" prev_id prev_rev
	set_version "$svc" 1
	commit "crash: $svc back to v1"
	once "$svc-unhealthy-reset"
	prev_id=$(e2e_cid "$P-$svc")
	prev_rev=$(docker inspect --type container --format \
		'{{index .Config.Labels "io.reconciler.revision"}}' "$P-$svc")
	set_version "$svc" unhealthy
	commit "crash: $svc to an image that never gets healthy"
	once "$svc-unhealthy-crash" RECONCILER_CRASH_AT=gating
	if [ "$rc" = 137 ]; then ok "$name: reconcilerd --once died by SIGKILL (exit 137)"; else
		fail "$name: reconcilerd --once died by SIGKILL (exit $rc, wanted 137)"
		show_log "$runlog"
	fi
	once "$svc-unhealthy-recover"
	if [ "$rc" = 1 ]; then ok "$name: the next --once fails the gate and rolls back (exit 1)"; else
		fail "$name: the next --once fails the gate and rolls back (exit $rc, wanted 1)"
		show_log "$runlog"
	fi
	expect_one_each "$name"
	set_version "$svc" 1
	expect_serving "$name" "$svc" "$IMG_WEB_V1" "$prev_rev" "web v1"
	if [ "$(e2e_cid "$P-$svc")" = "$prev_id" ]; then
		ok "$name: the old container itself serves again (same ID)"
	else
		fail "$name: the old container itself serves again (ID changed)"
	fi
	expect_all_healthy "$name"
	expect_data "$name"
	once "$svc-unhealthy-again"
	if [ "$rc" = 1 ] && [ "$(status_field state)" = degraded ] &&
		[ "$(e2e_cid "$P-$svc")" = "$prev_id" ]; then
		ok "$name: another --once does not retry the failed revision (degraded, exit 1, nothing touched)"
	else
		fail "$name: another --once does not retry the failed revision (exit $rc, state '$(status_field state)')"
		show_log "$runlog"
	fi
	git_w revert --no-edit HEAD >/dev/null
	git_w push -q origin main 2>/dev/null
	HEAD=$(git_w rev-parse HEAD)
	once "$svc-unhealthy-revert"
	if [ "$rc" = 0 ]; then ok "$name: after git revert, --once is in sync (exit 0)"; else
		fail "$name: after git revert, --once is in sync (exit $rc, wanted 0)"
		show_log "$runlog"
	fi
	expect_one_each "$name, reverted"
	expect_status "$name, reverted"
	expect_diff_clean "$name, reverted"
}

if part unhealthy; then
	unhealthy_scenario api
	unhealthy_scenario web
fi

# ------------------------------------------------------------ 2b. new commit

# newcommit_scenario SERVICE: a crash at "renaming" leaves the service's name
# free, the new container under <name>-next and the old one under <name>-old
# (running for start-first api, stopped for stop-first web); before the
# restart, another commit puts the service back to v1. The restart must
# serve v1 under the service's name, with a container throughout: the
# stop-first web's -next (v2) is replaced like any serving one and ends on the
# newest commit; the start-first api's -old is v1 already, the spec of its
# own commit, and is kept (renamed back) without a rollout.
newcommit_scenario() {
	local svc=$1 name="$1 crash at renaming, then a new commit" base old
	set_version "$svc" 1
	commit "crash: $svc back to v1"
	once "$svc-newcommit-reset"
	# the commit whose spec the v1 container carries (an earlier one if the
	# reset changed nothing)
	base=$(docker inspect --format '{{index .Config.Labels "io.reconciler.revision"}}' "$P-$svc")
	old=running/healthy
	[ "$svc" = web ] && old=exited
	set_version "$svc" 2
	commit "crash: bump $svc to v2"
	once "$svc-newcommit-crash" RECONCILER_CRASH_AT=renaming
	if [ "$rc" = 137 ] && [ "$(e2e_state "$P-$svc-next")" = running/healthy ] &&
		[ "$(e2e_state "$P-$svc")" = missing ] && [[ $(e2e_state "$P-$svc-old") == "$old"* ]]; then
		ok "$name: the crash left $P-$svc-next serving and $P-$svc-old $old"
	else
		fail "$name: the crash left $P-$svc-next serving and $P-$svc-old $old (exit $rc, -next $(e2e_state "$P-$svc-next"), -old $(e2e_state "$P-$svc-old"), $P-$svc $(e2e_state "$P-$svc"))"
	fi
	set_version "$svc" 1
	commit "crash: $svc to v1 again, before the restart"
	recover "$name"
	expect_one_each "$name"
	if [ "$svc" = api ]; then
		expect_serving "$name" api "$IMG_WEB_V1" "$base" "web v1"
	else
		expect_desired "$name" "$svc"
	fi
	expect_all_healthy "$name"
	expect_data "$name"
	expect_status "$name"
	expect_diff_clean "$name"
}

if part newcommit; then
	newcommit_scenario api
	newcommit_scenario web
fi

# ------------------------------------------------------------ 2c. journal

# A cycle cut short by a crash must not stay open ("running", no end, no
# outcome) in the journal once the next run has started: nothing runs now.
# (reconcilerctl history hides cycles without actions and outcome, so the
# journal is read directly, read-only.)
part journal && open_cycles=$("$E2E_PYTHON" - "$E2E_STATE/journal.db" <<'EOF' 2>&1
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = db.execute("SELECT id, substr(revision, 1, 12), trigger FROM cycles "
                  "WHERE ended IS NULL OR outcome IS NULL").fetchall()
print(" ".join(f"#{i}@{r}({t})" for i, r, t in rows))
EOF
)
if ! part journal; then
	:
elif [ -z "$open_cycles" ]; then
	ok "journal: no cycle cut short by a crash is left open after the restarts"
else
	fail "journal: no cycle cut short by a crash is left open after the restarts (open: $open_cycles)"
fi

# ------------------------------------------------------------ 3-4. daemon

# start_daemon NAME [ARGS...]: reconcilerd in the background; $DPID, $dlog.
start_daemon() {
	local name=$1
	shift
	NRUN=$((NRUN + 1))
	dlog=$LOGS/$(printf '%03d' "$NRUN")-daemon-$name.log
	"$RECONCILERD" "${DARGS[@]}" "$@" >"$dlog" 2>&1 8>&- &
	DPID=$!
}

_daemon_done() {
	local st
	[ "$(status_field pid)" = "$DPID" ] || return 1
	[ "$(status_field head)" = "$HEAD" ] || return 1
	st=$(status_field state)
	[ "$st" = in-sync ] || [ "$st" = converged ]
}

# wait_daemon NAME TIMEOUT: wait until the daemon's status.json says in-sync
# or converged at $HEAD.
wait_daemon() {
	if rt_wait "$2" _daemon_done; then
		ok "$1: the daemon reports in-sync/converged at the head"
		return 0
	fi
	fail "$1: the daemon reports in-sync/converged at the head (state '$(status_field state)', head '$(status_field head | cut -c1-12)', pid '$(status_field pid)' vs $DPID)"
	show_log "$dlog"
	return 1
}

_in_gate() {
	[ "$(e2e_state "$P-slow-next")" = running/starting ] && grep -q 'service=slow waiting for the health gate' "$dlog"
}

# exit_code_of PID TIMEOUT: wait for our child PID to exit; its code in $rc
# (124 if it had not exited after TIMEOUT seconds, then it is killed).
exit_code_of() {
	if rt_wait "$2" child_gone "$1"; then
		wait "$1" 2>/dev/null
		rc=$?
	else
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		rc=124
	fi
	DPID=""
}

# daemon_gate_scenario NAME HOW: bump slow, wait until the daemon is in its
# health gate, then HOW = kill9 | term | term-timeout; restart, check.
daemon_gate_scenario() {
	local name=$1 how=$2 prev_id cfg
	local -a extra=()
	if [ "$how" = term-timeout ]; then
		cfg=$tmp/reconciler.yaml
		printf 'shutdown_timeout: 2s\n' >"$cfg"
		extra=(-c "$cfg")
	fi
	start_daemon "$name-1" "${extra[@]}"
	if ! wait_daemon "$name: before the bump" 120; then
		cr_stop_daemon
		return
	fi
	prev_id=$(e2e_cid "$P-slow")
	if [ "$SLOW_IMAGE" = "$IMG_WEB_V1" ]; then set_version slow 2; else set_version slow 1; fi
	commit "crash: bump slow ($name)"
	if rt_wait 60 _in_gate; then
		ok "$name: the daemon picked the bump up and is in slow's health gate"
	else
		fail "$name: the daemon picked the bump up and is in slow's health gate (slow-next: $(e2e_state "$P-slow-next"))"
		show_log "$dlog"
	fi
	local pid=$DPID
	case $how in
	kill9)
		kill -KILL "$pid"
		exit_code_of "$pid" 30
		if [ "$rc" = 137 ]; then ok "$name: kill -9 killed the daemon (exit 137)"; else
			fail "$name: kill -9 killed the daemon (exit $rc)"
		fi
		;;
	term | term-timeout)
		kill -TERM "$pid"
		# default shutdown timeout 60 s; the hard bound here only stops a hang
		exit_code_of "$pid" 120
		if [ "$rc" = 0 ]; then ok "$name: the daemon exits 0 on SIGTERM mid-rollout"; else
			fail "$name: the daemon exits 0 on SIGTERM mid-rollout (exit $rc; 124: still running after 120 s)"
			show_log "$dlog"
		fi
		if [ "$how" = term ]; then
			if grep -q 'cycle finished, exiting' "$dlog"; then
				ok "$name: it finished the current step before exiting"
			else
				fail "$name: it finished the current step before exiting (no 'cycle finished' in its log)"
				show_log "$dlog"
			fi
			expect_one_each "$name, right after the exit"
			if [ "$(e2e_cid "$P-slow")" != "$prev_id" ]; then
				ok "$name: the step it finished was slow's cut-over (new container)"
			else
				fail "$name: the step it finished was slow's cut-over (still the old container)"
			fi
		else
			if grep -q 'still running after the shutdown timeout' "$dlog"; then
				ok "$name: it abandoned the step at the shutdown timeout"
			else
				fail "$name: it abandoned the step at the shutdown timeout (no such line in its log)"
				show_log "$dlog"
			fi
		fi
		;;
	esac
	start_daemon "$name-2"
	wait_daemon "$name: after the restart" 120
	expect_one_each "$name"
	expect_serving "$name" slow "$SLOW_IMAGE" "$HEAD" "$( [ "$SLOW_IMAGE" = "$IMG_WEB_V2" ] && echo 'web v2' || echo 'web v1')"
	expect_all_healthy "$name"
	expect_data "$name"
	expect_diff_clean "$name"
	cr_stop_daemon
}

# clean_slate NAME: every service back to v1 in a new commit (a new revision
# is never quarantined) and one converge, so that a failure above does not
# cascade into the parts below.
clean_slate() {
	set_version api 1
	set_version web 1
	STORE_REV=1
	commit "crash: clean slate before $1"
	recover "clean slate before $1"
	expect_one_each "clean slate before $1"
}

if part daemon; then
	clean_slate "the daemon scenarios"
	daemon_gate_scenario "kill -9 in a long health gate" kill9
	daemon_gate_scenario "SIGTERM in a long health gate" term
	daemon_gate_scenario "SIGTERM with shutdown_timeout 2s" term-timeout
fi
