#!/usr/bin/env bash
# A staged rollout (docs/fleet.md, "Staged rollout: canary first"): two hosts
# following one repository, as in tests/e2e/fleet.sh: the host's engine is
# "data1", the extra engine of tests/env/fleet-up.sh is "web1", the canary.
# data1's config has `wait_for: [web1]`; web1 waits for nobody. A healthchecked
# service app runs on both, keep on data1 only, edge on web1 only.
#   first start: data1, which never applied anything, waits with an error
#     (web1 unreachable) until web1 serves the head, then rolls it out
#   a good bump: web1 first, then data1 ("rolling it out here"); fleet
#     status in sync
#   web1's daemon stopped, a new commit: data1 keeps the revision it applied
#     for several cycles (the same app container), says why; web1 back, both
#     converge it
#   a broken revision: web1 rolls it back and quarantines it; data1 never
#     rolls it out ("failed on web1"), and its status exits as its state says;
#     the fixed commit goes through both
# shellcheck disable=SC2016 # the checks given to eval expand when they run
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-fcanary
dl_setup "$P"
# a failed check shows the daemons' logs at the end
FAILED=0
fail() {
	FAILED=1
	echo "not ok - $_t_name: $*"
}

# ---------------------------------------------------------------- engines

FLEET_ENV=$RT_STATE/fleet/swarm.env
# shared with the other fleet scripts that run meanwhile: fleet-down.sh
# takes it down after the last of them, if it was down before the first
export RT_FLEET_USER=$$
if ! RT_QUIET=1 "$E2E_TOP/tests/env/fleet-up.sh" >"$E2E_TMP/fleet-up.log" 2>&1; then
	fail "setup: the extra engine did not come up (tests/env/fleet-up.sh)"
	sed 's/^/# /' "$E2E_TMP/fleet-up.log"
	exit 1
fi
W_SOCK=$(sed -n 's/^RT_SWARM_SOCK=//p' "$FLEET_ENV")
declare -A ENGINE STATE LOG CFG PORT PID
# what the daemons use (data1's may be the socket proxy of tests/run.sh)
ENGINE[data1]=${E2E_DOCKER_HOST:-unix://$RT_DOCKER_SOCK}
ENGINE[web1]=unix://$W_SOCK
HOSTS="data1 web1"

# eng HOST ARGS…: the docker CLI against HOST's engine (the test's own view).
eng() {
	local h=$1
	shift
	case $h in
	data1) docker -H "unix://$RT_DOCKER_SOCK" "$@" ;;
	web1) docker -H "unix://$W_SOCK" "$@" ;;
	esac
}

# The project's objects on web1's engine go by label; the daemons are
# stopped first, so none of them puts one back (data1's engine: dl_cleanup).
fl_stop_daemons() {
	local h
	for h in $HOSTS; do
		[ -z "${PID[$h]:-}" ] || stop "$h" >/dev/null 2>&1
	done
}
w_cleanup() {
	local ids
	ids=$(eng web1 ps -aq --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086 # one ID per word
	[ -z "$ids" ] || eng web1 rm -f -v $ids >/dev/null 2>&1
	ids=$(eng web1 network ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || rt_wait 30 eng web1 network rm $ids >/dev/null 2>&1
	ids=$(eng web1 volume ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || eng web1 volume rm -f $ids >/dev/null 2>&1
	return 0
}
w_leftovers() {
	eng web1 ps -a --filter "label=io.reconciler.project=$P" --format 'container {{.Names}}'
	eng web1 network ls --filter "label=io.reconciler.project=$P" --format 'network {{.Name}}'
	eng web1 volume ls --filter "label=io.reconciler.project=$P" --format 'volume {{.Name}}'
}
fl_cleanup() {
	local left
	fl_stop_daemons
	w_cleanup
	left=$(w_leftovers 2>/dev/null)
	if [ -z "$left" ]; then
		ok "cleanup: nothing of $P is left on web1's engine"
	else
		fail "cleanup: left on web1's engine:"
		printf '%s\n' "$left" | sed 's/^/#   /'
	fi
	RT_QUIET=1 "$E2E_TOP/tests/env/fleet-down.sh" >"$E2E_TMP/fleet-down.log" 2>&1 ||
		{ echo "# fleet-down.sh failed:"; sed 's/^/#   /' "$E2E_TMP/fleet-down.log"; }
}
# shellcheck disable=SC2154 # rc is the trap's own
trap 'rc=$?; fl_cleanup; for h in $HOSTS; do [ "$rc$FAILED" = 00 ] || { echo "# $h log (last 60 lines):"; tail -n 60 "${LOG[$h]}" | sed "s/^/#   /"; }; done; (exit $rc); dl_cleanup' EXIT
w_cleanup

# ---------------------------------------------------------------- daemons

DL_MANIFEST=manifests/app.yaml
dl_repo_init "$E2E_TMP/git" || {
	fail "setup: git repositories"
	exit 1
}
mf=$DL_WORK/$DL_MANIFEST
mkdir -p "$(dirname "$mf")"

for h in $HOSTS; do
	STATE[$h]=$E2E_TMP/state-$h
	LOG[$h]=$E2E_TMP/reconcilerd-$h.log
	CFG[$h]=$E2E_TMP/reconciler-$h.yaml
	PORT[$h]=$(e2e_free_port)
	mkdir -p "${STATE[$h]}"
	chmod 0700 "${STATE[$h]}"
	: >"${LOG[$h]}"
done
# two free ports, not the same one twice
while [ "${PORT[web1]}" = "${PORT[data1]}" ]; do PORT[web1]=$(e2e_free_port); done
for h in $HOSTS; do
	cat >"${CFG[$h]}" <<EOF
repo: $DL_REPO_URL
branch: main
manifest: $DL_MANIFEST
poll_interval: 1s
state_dir: ${STATE[$h]}
secrets_dir: $E2E_SECRETS
docker_host: ${ENGINE[$h]}
listen: 127.0.0.1:${PORT[$h]}
host: $h
EOF
done
# the canary waits for nobody; data1 for web1
echo "wait_for: [web1]" >>"${CFG[data1]}"

# use HOST: the daemon-lib helpers (dl_wait_status, dl_status, …) act on HOST's daemon.
use() {
	DL_STATE=${STATE[$1]}
	DL_LOG=${LOG[$1]}
	DL_DAEMON_PID=${PID[$1]:-}
}
start() {
	local rc
	use "$1"
	dl_daemon_start -c "${CFG[$1]}"
	rc=$?
	PID[$1]=$DL_DAEMON_PID
	return "$rc"
}
# stop HOST [SIGNAL]: SIGTERM (or SIGNAL), KILL after 30 s; DL_DAEMON_RC
stop() {
	use "$1"
	dl_daemon_stop 30 "${2:-TERM}"
	PID[$1]=
}
# at HOST COMMIT [TIMEOUT]: HOST's daemon applied COMMIT, the head, in sync
# (a host held back by wait_for has the new head too, and its state is
# in-sync: its revision is what tells)
at() {
	use "$1"
	dl_wait_status "${3:-180}" "d.get('head') == '$2' and d.get('revision') == '$2' and \
d.get('state') in ('in-sync', 'converged')"
}
ctl() { # HOST SUBCOMMAND ARGS…: reconcilerctl against HOST's daemon
	local h=$1 sub=$2
	shift 2
	"$RECONCILERCTL" "$sub" --state-dir "${STATE[$h]}" "$@"
}
# services HOST: the services of the project's containers on HOST's engine,
# sorted, one line ("app keep")
services() {
	eng "$1" ps -a --filter "label=io.reconciler.project=$P" \
		--format '{{.Label "io.reconciler.service"}}' | sort | tr '\n' ' ' | sed 's/ $//'
}
_services_are() { [ "$(services "$1")" = "$2" ]; }
cid() { # HOST SERVICE: the IDs of SERVICE's containers on HOST
	eng "$1" ps -aq --no-trunc --filter "label=io.reconciler.project=$P" \
		--filter "label=io.reconciler.service=$2" | sort | tr '\n' ' ' | sed 's/ $//'
}
cstate() { # HOST SERVICE: state[/health] of its one container, "missing" when none
	local id
	id=$(cid "$1" "$2")
	[ -n "$id" ] || { echo missing; return; }
	eng "$1" inspect --type container \
		--format '{{.State.Status}}{{if .State.Health}}/{{.State.Health.Status}}{{end}}' "${id%% *}" 2>/dev/null ||
		echo missing
}
# spec HOST: "IMAGE NOTE=…" of app's one container on HOST
spec() {
	local id
	id=$(cid "$1" app)
	[ -n "$id" ] || { echo missing; return; }
	eng "$1" inspect --type container --format '{{.Config.Image}}{{range .Config.Env}} {{.}}{{end}}' \
		"${id%% *}" 2>/dev/null | tr ' ' '\n' | awk 'NR == 1 { i = $0 } /^NOTE=/ { n = $0 } END { print i, n }'
}
created() { # HOST: when app's container on HOST was created (RFC 3339, sortable)
	eng "$1" inspect --type container --format '{{.Created}}' "$(cid "$1" app)" 2>/dev/null
}
log_has() { grep -qE -- "$2" "${LOG[$1]}"; }
# status_msg HOST: the message of HOST's status.json
status_msg() {
	use "$1"
	dl_status 'd.get("message") or ""'
}
msg_has() { # HOST STRING…: the message has every STRING
	local m s h=$1
	shift
	m=$(status_msg "$h") || return 1
	for s in "$@"; do
		[[ $m == *"$s"* ]] || return 1
	done
}
fleet() { "$RECONCILERCTL" fleet status -f "$mf" "$@"; }

NOTE=one
APP_IMAGE=$IMG_WEB_V1
write_manifest() {
	cat >"$mf" <<EOF
version: 1
project: $P
services:
  app:
    image: $APP_IMAGE
    environment:
      NOTE: $NOTE
    networks: [front]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
  keep:
    image: $IMG_SLEEPER
    networks: [front]
    deploy:
      placement:
        constraints: ["node.hostname == data1"]
  edge:
    image: $IMG_SLEEPER
    networks: [front]
    deploy:
      placement:
        constraints: ["node.hostname == web1"]
networks:
  front: {}
fleet:
  data1: {url: "http://127.0.0.1:${PORT[data1]}"}
  web1: {url: "http://127.0.0.1:${PORT[web1]}"}
EOF
}
r12() { printf '%.12s' "$1"; }

# ---------------------------------------------------------------- 1. first start

write_manifest
rev1=$(dl_commit_push "canary: app on both hosts")
check "reconcilerd starts for data1 (wait_for: [web1], listener :${PORT[data1]})" start data1
use data1
check "data1, which never applied a revision, waits with an error while web1 is down" \
	dl_wait_status 60 "d.get('state') == 'error' and d.get('head') == '$rev1' and \
(d.get('waiting') or {}).get('revision') == '$rev1'"
check "  its message: none applied here before, web1 unreachable" msg_has data1 \
	"revision $(r12 "$rev1") waits for the hosts of wait_for, and none was applied here before" \
	"web1 unreachable"
check "  waiting.failed is false" test "$(dl_status 'd["waiting"]["failed"]')" = false
check "  its log says it waits" log_has data1 "canary.*revision=$(r12 "$rev1") waits: web1 unreachable"
check "  data1's engine runs nothing of the project" _services_are data1 ""
check "reconcilerd starts for web1, the canary (listener :${PORT[web1]})" start web1
check "web1 converges the first revision" at web1 "$rev1"
check "  app is healthy on web1" rt_wait 60 eval '[ "$(cstate web1 app)" = running/healthy ]'
check "data1 then converges it" at data1 "$rev1" 240
check "  its log: served by web1, rolling it out here" log_has data1 \
	"canary.*revision=$(r12 "$rev1") served healthy by 1 host waited for: rolling it out here"
check "  no waiting in its status any more" test "$(dl_status '"waiting" in d')" = false
check "data1's engine runs app and keep" rt_wait 30 _services_are data1 "app keep"
check "web1's engine runs app and edge" rt_wait 30 _services_are web1 "app edge"
check "app is healthy on data1" rt_wait 60 eval '[ "$(cstate data1 app)" = running/healthy ]'
check "web1 never logged a canary line (it waits for nobody)" eval '! log_has web1 " canary "'

# ---------------------------------------------------------------- 2. a good bump

NOTE=two
write_manifest
rev2=$(dl_commit_push "canary: NOTE two")
check "web1 converges the bump" at web1 "$rev2"
check "data1 converges it after" at data1 "$rev2"
check "  its log: rolling it out here, once web1 served it" log_has data1 \
	"canary.*revision=$(r12 "$rev2") served healthy by 1 host waited for: rolling it out here"
check "  app has the new note on both" eval \
	'[ "$(spec web1)" = "$IMG_WEB_V1 NOTE=two" ] && [ "$(spec data1)" = "$IMG_WEB_V1 NOTE=two" ]'
check "  data1's app was created after web1's" eval '[[ "$(created data1)" > "$(created web1)" ]]'
expect_exit "fleet status: both at the head, in sync: exit 0" 0 fleet
expect_contains "  a row for data1" "data1"
expect_contains "  a row for web1" "web1"

# ---------------------------------------------------------------- 3. the canary down

check "web1's daemon stops on SIGTERM" stop web1
app_data1=$(cid data1 app)
app_web1=$(cid web1 app)
NOTE=three
write_manifest
rev3=$(dl_commit_push "canary: NOTE three")
use data1
check "data1 reads the new head and holds it back (web1 unreachable)" dl_wait_status 60 \
	"d.get('head') == '$rev3' and d.get('revision') == '$rev2' and \
(d.get('waiting') or {}).get('revision') == '$rev3'"
check "  for several cycles" dl_wait_cycles 90 4
check "  its status.json: revision still $(r12 "$rev2"), head $(r12 "$rev3"), in-sync" test \
	"$(dl_status 'd["revision"] + " " + d["head"] + " " + d["state"]')" = "$rev2 $rev3 in-sync"
check "  its message: waits for the hosts of wait_for, web1 unreachable" msg_has data1 \
	"head $(r12 "$rev3") waits for the hosts of wait_for" "web1 unreachable"
check "  waiting.failed is false" test "$(dl_status 'd["waiting"]["failed"]')" = false
check "  the same app container, the old note" eval \
	'[ "$(cid data1 app)" = "$app_data1" ] && [ "$(spec data1)" = "$IMG_WEB_V1 NOTE=two" ]'
check "  and it still runs, healthy" eval '[ "$(cstate data1 app)" = running/healthy ]'
check "  its log says it waits" log_has data1 "canary.*revision=$(r12 "$rev3") waits: web1 unreachable"
expect_exit "data1's reconcilerctl status: in-sync (the kept revision): exit 0" 0 ctl data1 status
expect_contains "  says the head waits" "waits for the hosts of wait_for: web1 unreachable"
expect_exit "fleet status: web1 unreachable, data1 behind its head: exit 1" 1 fleet
expect_contains "  web1 unreachable" "unreachable"
check "web1's app was left alone meanwhile" test "$(cid web1 app)" = "$app_web1"
check "web1's daemon starts again" start web1
check "web1 converges the new head" at web1 "$rev3"
check "data1 follows" at data1 "$rev3"
check "  its log: rolling it out here" log_has data1 \
	"canary.*revision=$(r12 "$rev3") served healthy by 1 host waited for: rolling it out here"
check "  app has the new note on both" eval \
	'[ "$(spec web1)" = "$IMG_WEB_V1 NOTE=three" ] && [ "$(spec data1)" = "$IMG_WEB_V1 NOTE=three" ]'

# ---------------------------------------------------------------- 4. a broken revision

# shellcheck disable=SC2034 # read by the checks' eval
app_data1=$(cid data1 app)
NOTE=four
APP_IMAGE=$IMG_UNHEALTHY
write_manifest
rev4=$(dl_commit_push "canary: app never healthy")
use web1
check "web1 rolls the broken revision back and quarantines it" dl_wait_status 240 \
	"any(q.get('revision') == '$rev4' for q in d.get('quarantined') or [])"
check "  web1 is degraded" dl_wait_status 60 "d.get('state') == 'degraded'"
check "  web1's app is back on the old spec, healthy" rt_wait 120 eval \
	'[ "$(spec web1)" = "$IMG_WEB_V1 NOTE=three" ] && [ "$(cstate web1 app)" = running/healthy ]'
expect_exit "web1's reconcilerctl status: degraded: exit 1" 1 ctl web1 status
use data1
check "data1 says the head is never rolled out here" dl_wait_status 60 \
	"(d.get('waiting') or {}).get('revision') == '$rev4' and d['waiting'].get('failed') is True"
check "  for several cycles" dl_wait_cycles 90 4
check "  its status.json: revision still $(r12 "$rev3"), head $(r12 "$rev4"), in-sync" test \
	"$(dl_status 'd["revision"] + " " + d["head"] + " " + d["state"]')" = "$rev3 $rev4 in-sync"
check "  its message: is never rolled out here, failed on web1" msg_has data1 \
	"head $(r12 "$rev4") is never rolled out here: $(r12 "$rev4") failed on web1 (app: "
check "  its quarantine list is empty (it failed elsewhere)" test \
	"$(dl_status 'len(d.get("quarantined") or [])')" = 0
check "  the same app container, the old spec" eval \
	'[ "$(cid data1 app)" = "$app_data1" ] && [ "$(spec data1)" = "$IMG_WEB_V1 NOTE=three" ]'
check "  and it still runs, healthy" eval '[ "$(cstate data1 app)" = running/healthy ]'
check "  its log: never rolled out here" log_has data1 \
	"canary.*revision=$(r12 "$rev4") never rolled out here: $(r12 "$rev4") failed on web1"
# shellcheck disable=SC2034 # read by the check's eval
images=$(eng data1 ps -a --filter "label=io.reconciler.project=$P" --format "{{.Image}}")
check "  it never created a container of the broken image" eval '! grep -qF "$IMG_UNHEALTHY" <<<"$images"'
# docs/operating.md: status exits 0 in sync or converged, 1 degraded, 2 error;
# the host that keeps its revision is in sync
expect_exit "data1's reconcilerctl status: in-sync (the kept revision): exit 0" 0 ctl data1 status
expect_contains "  says the head is never rolled out here" "is never rolled out here: $(r12 "$rev4") failed on web1"
expect_exit "fleet status: web1 degraded: exit 1" 1 fleet
expect_contains "  says degraded" "degraded"

NOTE=five
APP_IMAGE=$IMG_WEB_V2
write_manifest
rev5=$(dl_commit_push "canary: app fixed")
check "web1 converges the fix" at web1 "$rev5" 240
check "data1 follows" at data1 "$rev5"
check "  its log: rolling it out here" log_has data1 \
	"canary.*revision=$(r12 "$rev5") served healthy by 1 host waited for: rolling it out here"
check "  no waiting in its status any more" test "$(dl_status '"waiting" in d')" = false
check "  app has the fixed spec on both, healthy" rt_wait 60 eval \
	'[ "$(spec web1) $(cstate web1 app)" = "$IMG_WEB_V2 NOTE=five running/healthy" ] &&
	[ "$(spec data1) $(cstate data1 app)" = "$IMG_WEB_V2 NOTE=five running/healthy" ]'
check "  and each host runs exactly its services" eval \
	'[ "$(services data1)" = "app keep" ] && [ "$(services web1)" = "app edge" ]'
expect_exit "fleet status: in sync again: exit 0" 0 fleet

# ---------------------------------------------------------------- stop

for h in $HOSTS; do
	stop "$h"
	check "$h's daemon stopped on SIGTERM with exit 0" test "$DL_DAEMON_RC" = 0
done
