#!/usr/bin/env bash
# A fleet of two hosts following one repository (docs/fleet.md): the host's
# engine is "data1" (host_labels role=data), an extra engine of its own
# (tests/env/fleet-up.sh) is "web1" (role=web); one reconcilerd for each,
# each with its own state directory and read-only listener, both named in the
# manifest's fleet section.
#   placement by name and by label: each engine runs only its services, the
#     daemons' diff and status show the others as placed elsewhere, nothing
#     is removed as an orphan, volumes and networks only where used; /metrics
#     names the host and its revision
#   a move (web from web1 to data1) while data1's daemon is stopped: web1
#     keeps web running and says why; once data1 serves web behind its gate,
#     web1 removes its container (its volume kept)
#   one daemon killed (SIGKILL) while the other converges a new commit: the
#     other converges; the killed one, started again, catches up
#   reconcilerctl fleet status (when this build has it): in sync, degraded,
#     unreachable
# shellcheck disable=SC2016 # the checks given to eval expand when they run
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-fleet
dl_setup "$P"

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

# The project's objects on web1's engine go by label (volumes too: the test
# made them); the daemons are stopped first, so none of them puts one back.
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
trap 'rc=$?; fl_cleanup; for h in $HOSTS; do [ "$rc" = 0 ] || { echo "# $h log (last 30 lines):"; tail -n 30 "${LOG[$h]}" | sed "s/^/#   /"; }; done; (exit $rc); dl_cleanup' EXIT
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
	role=data
	[ "$h" = web1 ] && role=web
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
host_labels: {role: $role, fleet: $P}
EOF
done

# use HOST: the daemon-lib helpers (dl_wait_head, dl_status, …) act on HOST's daemon.
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
head_is() { # HOST COMMIT [STATES]
	use "$1"
	dl_wait_head 180 "$2" "${3:-in-sync converged}"
}
ctl() { # HOST SUBCOMMAND ARGS…: reconcilerctl against HOST's daemon and engine
	local h=$1 sub=$2
	shift 2
	"$RECONCILERCTL" "$sub" --state-dir "${STATE[$h]}" "$@"
}
# services HOST: the services of the project's containers on HOST's engine,
# sorted, one line ("cache db")
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
names() { # HOST KIND: the project's networks or volumes on HOST, sorted, one line
	eng "$1" "$2" ls --filter "label=io.reconciler.project=$P" --format '{{.Name}}' |
		sort | tr '\n' ' ' | sed 's/ $//'
}
metrics() { curl -fsS -m 10 "http://127.0.0.1:${PORT[$1]}/metrics" 2>/dev/null; }
metrics_has() { # HOST STRING (not in a pipe: grep -q would end curl early)
	local m
	m=$(metrics "$1") && grep -qF -- "$2" <<<"$m"
}
log_has() { grep -qE -- "$2" "${LOG[$1]}"; }
# rows HOST: "service:state" of the daemon's status.json rows, one line
rows() {
	use "$1"
	dl_status '" ".join(r["service"] + ":" + r["state"] for r in d.get("services") or [])'
}

WEB_WHERE='node.labels.role == web'
NOTE=one
WITH_SIDE=0
SIDE_IMAGE=$IMG_WEB_V1
write_manifest() {
	local side=""
	if [ "$WITH_SIDE" = 1 ]; then
		side="  side:
    image: $SIDE_IMAGE
    networks: [front]
    healthcheck:
      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1:8080/health\"]
      interval: 1s
      retries: 2
    deploy:
      placement:
        constraints: [\"node.labels.role == web\"]"
	fi
	cat >"$mf" <<EOF
version: 1
project: $P
services:
  db:
    image: $IMG_STATEFUL
    volumes: ["data:/data"]
    networks: [back]
    deploy:
      placement:
        constraints: ["node.hostname == data1"]
  cache:
    image: $IMG_SLEEPER
    environment:
      NOTE: $NOTE
    networks: [back]
    deploy:
      placement:
        constraints: ["node.labels.role == data", "node.labels.fleet == $P"]
  web:
    image: $IMG_WEB_V1
    volumes: ["static:/static"]
    networks: [front]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
    deploy:
      placement:
        constraints: ["$WEB_WHERE"]
$side
networks:
  back: {}
  front: {}
volumes:
  data: {}
  static: {}
fleet:
  data1: {url: "http://127.0.0.1:${PORT[data1]}"}
  web1: {url: "http://127.0.0.1:${PORT[web1]}"}
EOF
}

# ---------------------------------------------------------------- 1. placement

write_manifest
rev1=$(dl_commit_push "fleet: db and cache on data1, web on web1")
check "reconcilerd starts for data1 (${ENGINE[data1]}, listener :${PORT[data1]})" start data1
check "reconcilerd starts for web1 (${ENGINE[web1]}, listener :${PORT[web1]})" start web1
check "data1 converges the first revision" head_is data1 "$rev1"
check "web1 converges the first revision" head_is web1 "$rev1"
check "data1's engine runs db and cache, nothing else" rt_wait 30 _services_are data1 "cache db"
check "web1's engine runs web, nothing else" rt_wait 30 _services_are web1 "web"
check "web is healthy on web1" rt_wait 60 eval '[ "$(cstate web1 web)" = running/healthy ]'
check "db and cache run on data1" eval '[ "$(cstate data1 db) $(cstate data1 cache)" = "running running" ]'
check "the volume data is on data1 only" eval \
	'[ "$(names data1 volume)" = "${P}_data" ] && [ "$(names web1 volume)" = "${P}_static" ]'
check "the network back is on data1 only, front on web1 only" eval \
	'[ "$(names data1 network)" = "${P}_back" ] && [ "$(names web1 network)" = "${P}_front" ]'
use data1
check "data1's status.json names its host and labels" test \
	"$(dl_status 'd["host"]["name"] + " " + d["host"]["labels"]["role"]')" = "data1 data"
check "data1's status rows: web elsewhere, db and cache running" test \
	"$(rows data1)" = "db:running cache:running web:elsewhere"
check "  and the row says where" grep -q 'web1\|role' <<<"$(dl_status '[r.get("where") for r in d["services"] if r["service"] == "web"][0]')"
check "web1's status rows: db and cache elsewhere, web running" test \
	"$(rows web1)" = "db:elsewhere cache:elsewhere web:running"
expect_exit "data1's diff (its daemon's view) is in sync: exit 0" 0 ctl data1 diff --no-color
expect_contains "  web is placed elsewhere" "@ web (placed elsewhere: "
expect_not_contains "  and nothing to remove" "remove)"
expect_exit "web1's diff is in sync: exit 0" 0 ctl web1 diff --no-color
expect_contains "  db is placed elsewhere" "@ db (placed elsewhere: "
expect_contains "  cache too" "@ cache (placed elsewhere: "
ctl web1 diff --json >"$E2E_TMP/web1-diff.json" 2>&1
check "  its diff --json lists db and cache under elsewhere" test \
	"$(e2e_jq "$E2E_TMP/web1-diff.json" '" ".join(sorted(e["service"] for e in d.get("elsewhere", [])))')" = "cache db"
expect_exit "reconcilerctl status -f with data1's config: exit 0" 0 \
	ctl data1 status -f "$mf" -H "${ENGINE[data1]}" --host-name data1 --host-label role=data \
	--host-label fleet=$P
check "  db and cache running, web elsewhere" eval \
	'grep -qE "^db +[^ ]+ +running" <<<"$out" && grep -qE "^cache +[^ ]+ +running" <<<"$out" && grep -qE "^web +- +elsewhere" <<<"$out"'
expect_not_contains "  and no service as missing" " missing "
ids1="$(cid data1 db) $(cid data1 cache) $(cid web1 web)"
use web1
check "both daemons run more cycles" dl_wait_cycles 60 3
use data1
check "  (data1 too)" dl_wait_cycles 60 3
check "no container was replaced or removed as an orphan" \
	test "$(cid data1 db) $(cid data1 cache) $(cid web1 web)" = "$ids1"
check "no daemon logged a remove" eval '! grep -h "remove service=" "${LOG[data1]}" "${LOG[web1]}"'
for h in $HOSTS; do
	m=$(metrics "$h")
	check "$h's /metrics: reconciler_host_info names the host" \
		grep -qE "^reconciler_host_info\\{host=\"$h\"" <<<"$m"
	check "$h's /metrics: reconciler_revision_info has the revision" \
		grep -qF "reconciler_revision_info{host=\"$h\",revision=\"$rev1\"} 1" <<<"$m"
done

# ---------------------------------------------------------------- 2. move

web_old=$(cid web1 web)
check "data1's daemon stops on SIGTERM" stop data1
WEB_WHERE='node.hostname == data1'
write_manifest
rev2=$(dl_commit_push "fleet: web moves to data1")
use web1
check "web1 sees the move and keeps web while data1 does not serve it" rt_wait 60 \
	log_has web1 "move service=web .*kept: waiting for another host to serve it: data1 unreachable"
check "  for several cycles" dl_wait_cycles 60 4
check "  web still runs on web1, the same container" eval \
	"[ \"\$(cid web1 web)\" = '$web_old' ] && [ \"\$(cstate web1 web)\" = running/healthy ]"
check "  data1's engine has no web yet" test -z "$(cid data1 web)"
check "  web1's status.json is at the new head" dl_wait_status 30 "d.get('head') == '$rev2'"
check "  its web row is running and says where it belongs" test \
	"$(dl_status '[r["state"] + "|" + r.get("where", "") for r in d["services"] if r["service"] == "web"][0]')" != "running|"
expect_exit "web1's diff shows the pending remove: exit 1" 1 ctl web1 diff --no-color
expect_contains "  web is to remove" "- web ("
expect_contains "  because it is placed on another host" "placed on another host"
# (read whole before grep -q: a reconcilerctl cut off by SIGPIPE fails a pipe)
_journal_says_waits() {
	local h
	h=$(ctl web1 history --json --limit 200 2>/dev/null) &&
		grep -qF 'waiting for another host to serve it' <<<"$h"
}
check "web1's journal says why web waits" rt_wait 30 _journal_says_waits
_status_says_moving() {
	local s
	s=$(ctl web1 status 2>/dev/null)
	grep -qF 'web moves to another host, kept here until it serves it: waiting for another host' \
		<<<"$s"
}
check "web1's status says web is moving and why it is kept" rt_wait 30 _status_says_moving

check "data1's daemon starts again" start data1
check "data1 converges the move" head_is data1 "$rev2"
# web1 removes its container only once data1 serves web: at the moment it
# is gone from web1, data1's runs and is healthy
_web1_web_gone() {
	[ -z "$(cid web1 web)" ] || return 1
	WEB_DATA1_AT_REMOVE=$(cstate data1 web)
}
check "web1 then removes its web container" rt_wait 120 _web1_web_gone
check "  (by then web ran on data1, healthy: $WEB_DATA1_AT_REMOVE)" \
	test "$WEB_DATA1_AT_REMOVE" = running/healthy
check "web1's log says so (volumes kept)" rt_wait 30 log_has web1 "remove service=web .*volumes kept"
check "web1 is in sync at the move's revision" head_is web1 "$rev2"
check "web1's volume of web is kept" eval 'eng web1 volume inspect "${P}_static" >/dev/null'
check "data1's engine runs cache, db and web" rt_wait 30 _services_are data1 "cache db web"
check "web1's engine runs nothing of the project" _services_are web1 ""
check "data1 created the network front for web" eval '[[ " $(names data1 network) " == *" ${P}_front "* ]]'
check "data1's status rows: all three running" test "$(rows data1)" = "db:running cache:running web:running"
expect_exit "data1's diff is in sync: exit 0" 0 ctl data1 diff --no-color
expect_exit "web1's diff is in sync: exit 0" 0 ctl web1 diff --no-color
check "web1's /metrics has the new revision" rt_wait 30 metrics_has web1 \
	"reconciler_revision_info{host=\"web1\",revision=\"$rev2\"} 1"

# ---------------------------------------------------------------- 3. a daemon killed

check "web1's daemon killed (SIGKILL)" stop web1 KILL 2>/dev/null
NOTE=three
WITH_SIDE=1
write_manifest
rev3=$(dl_commit_push "fleet: cache's note, a side service on web1")
# shellcheck disable=SC2034 # read by the check's eval
cache_old=$(cid data1 cache)
check "data1 converges the new commit meanwhile" head_is data1 "$rev3"
check "  cache was recreated with the new note" eval \
	'[ "$(cid data1 cache)" != "$cache_old" ] && eng data1 inspect --format "{{json .Config.Env}}" $(cid data1 cache) | grep -q NOTE=three'
check "  side is placed elsewhere, not created on data1" eval \
	'[ "$(services data1)" = "cache db web" ] && [[ " $(rows data1) " == *" side:elsewhere "* ]]'
check "  web1's engine has no side yet" test -z "$(cid web1 side)"
check "web1's daemon starts again after SIGKILL" start web1
check "web1 catches up" head_is web1 "$rev3"
check "  side runs on web1, healthy" rt_wait 60 eval '[ "$(cstate web1 side)" = running/healthy ]'
check "  and web1 runs nothing else" _services_are web1 "side"
check "data1 stays in sync" head_is data1 "$rev3"

# ---------------------------------------------------------------- 4. fleet status

if "$RECONCILERCTL" fleet status --help >/dev/null 2>&1; then
	fleet() { "$RECONCILERCTL" fleet status -f "$mf" "$@"; }
	expect_exit "fleet status: both hosts in sync: exit 0" 0 fleet
	expect_contains "  a row for data1" "data1"
	expect_contains "  a row for web1" "web1"
	expect_exit "fleet status --json: exit 0" 0 fleet --json
	printf '%s\n' "$out" >"$E2E_TMP/fleet.json"
	check "  both hosts reachable, in sync, at the head" test "$(e2e_jq "$E2E_TMP/fleet.json" \
		'" ".join("%s:%s:%s:%s" % (h["name"], h["reachable"], h["in_sync"], h["revision"] == "'"$rev3"'") for h in d["hosts"])')" \
		= "data1:True:True:True web1:True:True:True"
	expect_exit "fleet status --repo (the branch head from Git): exit 0" 0 \
		"$RECONCILERCTL" fleet status --repo "$DL_REPO_URL" --path "$DL_MANIFEST"
	# a broken side on web1: rolled back, its revision quarantined
	SIDE_IMAGE=$IMG_UNHEALTHY
	write_manifest
	rev4=$(dl_commit_push "fleet: a broken side")
	use web1
	check "web1 quarantines the broken revision" dl_wait_status 180 \
		"any(q.get('revision') == '$rev4' for q in d.get('quarantined') or [])"
	expect_exit "fleet status: web1 degraded: exit 1" 1 fleet
	expect_contains "  says degraded" "degraded"
	SIDE_IMAGE=$IMG_WEB_V2
	write_manifest
	rev5=$(dl_commit_push "fleet: side fixed")
	check "both converge the fix" eval 'head_is data1 "$rev5" && head_is web1 "$rev5"'
	expect_exit "fleet status: in sync again: exit 0" 0 fleet
	check "web1's daemon stops" stop web1
	expect_exit "fleet status: web1 unreachable: exit 1" 1 fleet
	expect_contains "  its row says unreachable" "unreachable"
	expect_contains "  data1's row is still there" "data1"
	"$RECONCILERCTL" fleet status -f "$mf" --json >"$E2E_TMP/fleet.json" 2>/dev/null
	check "  --json: web1 not reachable, data1 reachable and in sync" test "$(e2e_jq "$E2E_TMP/fleet.json" \
		'" ".join("%s:%s:%s" % (h["name"], h["reachable"], h["in_sync"]) for h in d["hosts"])')" \
		= "data1:True:True web1:False:False"
	check "web1's daemon starts again" start web1
	check "  and is in sync" head_is web1 "$rev5"
else
	echo "ok - $_t_name: reconcilerctl fleet status # SKIP this build has no 'fleet' command"
fi

# ---------------------------------------------------------------- stop

for h in $HOSTS; do
	stop "$h"
	check "$h's daemon stopped on SIGTERM with exit 0" test "$DL_DAEMON_RC" = 0
done
