#!/usr/bin/env bash
# reconcilerd with `backend: swarm` on the three-node test swarm (one
# manager, two workers: tests/env/swarm-up.sh --nodes 3), following a Git
# remote:
#   placement: a service constrained to node.role == worker runs on the two
#   workers only, one constrained to node.role == manager on the manager;
#   a rollout of three replicas (one a node), start-first, one at a time,
#   with zero failed requests from a client on the project's overlay network;
#   a broken image rolled back by Swarm, reported as a failed rollout and
#   quarantined (the service is not touched again), v2 serving on 3 tasks;
#   a drained worker: its tasks move to the other nodes while the reconciler
#   stays in sync and does not touch the services; the node is made active
#   again.
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-swarm3
e2e_swarm 3
dl_setup "$P"
SW=$RT_SWARM_HOST
NET=${P}_app
sw() { sdocker "$@"; }
read -r MANAGER WORKER1 WORKER2 <<<"$RT_SWARM_NODE_NAMES"
DRAINED=

# every node's engine, one socket a line
# shellcheck disable=SC2086 # one socket per word
node_socks() { printf '%s\n' "$RT_SWARM_SOCK" ${RT_SWARM_WORKER_SOCKS:-}; }

# What lib.sh's cleanup does not cover: the daemon stopped first (it would
# put the services back), the services removed and their tasks gone, then
# on every node the project's containers (exited tasks) and volumes; a
# drained node made active again.
sw3_cleanup() {
	local ids sock
	dl_daemon_stop >/dev/null 2>&1
	[ -z "$DRAINED" ] || sw node update --availability active "$DRAINED" >/dev/null 2>&1
	ids=$(sw service ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086 # one ID per word
	[ -z "$ids" ] || sw service rm $ids >/dev/null 2>&1
	sw rm -f "$P-client" >/dev/null 2>&1
	rt_wait 60 _sw3_no_tasks
	for sock in $(node_socks); do
		ids=$(docker -H "unix://$sock" ps -aq --filter "label=io.reconciler.project=$P" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -z "$ids" ] || docker -H "unix://$sock" rm -f $ids >/dev/null 2>&1
		ids=$(docker -H "unix://$sock" volume ls -q 2>/dev/null | grep "^${P}_")
		# shellcheck disable=SC2086
		[ -z "$ids" ] || docker -H "unix://$sock" volume rm -f $ids >/dev/null 2>&1
	done
	return 0
}
_sw3_no_tasks() {
	local sock
	for sock in $(node_socks); do
		[ -z "$(docker -H "unix://$sock" ps -q --filter "label=io.reconciler.project=$P" 2>/dev/null)" ] ||
			return 1
	done
}
sw3_leftovers() {
	local sock
	for sock in $(node_socks); do
		docker -H "unix://$sock" ps -a --filter "label=io.reconciler.project=$P" --format "container {{.Names}} on $sock"
		docker -H "unix://$sock" volume ls -q | grep "^${P}_" | sed "s|^|volume |; s|\$| on $sock|"
	done
	sw node ls --format '{{.Hostname}} {{.Availability}}' | grep -v ' Active$'
}
trap 'rc=$?; sw3_cleanup; left=$(sw3_leftovers 2>/dev/null)
[ -z "$left" ] && ok "cleanup: no container or volume of $P on any node, every node active" ||
	fail "cleanup: left on the nodes: $left"
(exit $rc); dl_cleanup' EXIT
sw3_cleanup

dl_repo_init "$E2E_TMP/git" || {
	fail "setup: git repositories"
	exit 1
}
mf=$DL_WORK/manifests/swarm3.yaml
DL_MANIFEST=manifests/swarm3.yaml
mkdir -p "$(dirname "$mf")"

WEB_IMAGE=$IMG_WEB_V1
write_manifest() {
	cat >"$mf" <<EOF
version: 1
project: $P
services:
  web:
    image: $WEB_IMAGE
    networks: [app]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
    update: {parallelism: 1, min_ready: 2s, timeout: 90s}
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
  onworker:
    image: $IMG_SLEEPER
    networks: [app]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement:
        constraints: ["node.role == worker"]
  onmanager:
    image: $IMG_SLEEPER
    networks: [app]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement:
        constraints: ["node.role == manager"]
networks:
  app: {}
EOF
}

cfg=$E2E_TMP/reconciler.yaml
cat >"$cfg" <<EOF
backend: swarm
docker_host: $SW
EOF
ctl() {
	local sub=$1
	shift
	"$RECONCILERCTL" "$sub" --state-dir "$DL_STATE" "$@"
}
# The history is read whole before grep: grep -q stops at the first match, and
# under pipefail the reconcilerctl it leaves writing (SIGPIPE, 141) fails the
# pipe once the JSON is over one pipe write (4 KiB).
_history_has() {
	local h
	h=$(ctl history --json 2>/dev/null) && grep -qF -- "$1" <<<"$h"
}
svc_image() { sw service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$P-$1" 2>/dev/null; }
svc_version() { sw service inspect --format '{{.Version.Index}}' "$P-$1" 2>/dev/null; }
# the nodes of a service's running tasks, sorted, one line
nodes_of() {
	sw service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' "$P-$1" 2>/dev/null |
		awk '$2 == "Running" { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//'
}
_nodes_are() { [ "$(nodes_of "$1")" = "$2" ]; }
_running_is() { [ "$(nodes_of "$1" | wc -w)" = "$2" ]; }
# every running task of the service is on one of the nodes given
_only_on() {
	local svc=$1 n
	shift
	for n in $(nodes_of "$svc"); do
		case " $* " in *" $n "*) ;; *) return 1 ;; esac
	done
}
_services_versions() {
	local s
	for s in web onworker onmanager; do printf '%s=%s ' "$s" "$(svc_version "$s")"; done
}

# The client (as in swarm-rollout.sh): a container on the project's overlay
# network asking http://web:8080/ about 20 times a second. web's endpoint
# mode is dnsrr (no IPVS here): its name resolves to its tasks' addresses,
# and like a client library the client tries them in turn until one answers.
# busybox wget crashes when it resolves a name or takes -T: nslookup
# resolves, `timeout` bounds.
# shellcheck disable=SC2016 # for the container's shell
CLIENT='mkdir -p /tmp; ok=0; bad=0; : >/tmp/seen
resolve() { nslookup "$1" 2>/dev/null | awk '\''/^Name:/ { getline; print $2 }'\''; }
fetch() { for a in $(resolve web); do timeout 3 wget -q -O - "http://$a:8080/" 2>/dev/null && return 0; done; return 1; }
while [ ! -e /tmp/stop ]; do
	if b=$(fetch); then
		ok=$((ok + 1)); grep -qxF "$b" /tmp/seen || echo "$b" >>/tmp/seen
	else
		bad=$((bad + 1))
	fi
	echo "$ok $bad" >/tmp/c.tmp && mv /tmp/c.tmp /tmp/counts
	usleep 50000
done
touch /tmp/done; exec sleep 3600'
client() { sw exec "$P-client" "$@" 2>/dev/null; }
_client_at_least() { [ "$(client cat /tmp/counts | cut -d' ' -f1)" -ge "$1" ] 2>/dev/null; }
client_start() {
	sw rm -f "$P-client" >/dev/null 2>&1
	sw run -d --name "$P-client" --label "$E2E_OWNER_LABEL=$P" --network "$NET" \
		"$IMG_SLEEPER" sh -c "$CLIENT" >/dev/null && rt_wait 30 _client_at_least 5
}
client_stop() {
	local n
	n=$(client cat /tmp/counts | cut -d' ' -f1)
	rt_wait 30 _client_at_least $((${n:-0} + 5))
	client touch /tmp/stop
	rt_wait 15 client test -e /tmp/done
	read -r CL_OK CL_FAIL < <(client cat /tmp/counts)
	CL_SEEN=$(client cat /tmp/seen | tr '\n' '|')
	sw rm -f "$P-client" >/dev/null 2>&1
	: "${CL_OK:=0}" "${CL_FAIL:=unknown}"
}

# ---------------------------------------------------------------- first deploy

write_manifest
check "the manifest is valid on swarm" "$RECONCILERCTL" validate --backend swarm "$mf"
rev1=$(dl_commit_push "swarm3: web v1, a service on the workers, one on the manager")
DL_POLL=1s
dl_daemon_args
check "reconcilerd starts with backend: swarm" dl_daemon_start -c "$cfg" "${DL_ARGS[@]}"
check "it converges the first revision" dl_wait_head 240 "$rev1" "in-sync converged"

# ---------------------------------------------------------------- placement

check "onworker's two tasks run" rt_wait 90 _running_is onworker 2
check "  on the workers only ($(nodes_of onworker))" _only_on onworker "$WORKER1" "$WORKER2"
check "onmanager's two tasks run" rt_wait 90 _running_is onmanager 2
check "  on the manager only ($(nodes_of onmanager))" _nodes_are onmanager "$MANAGER $MANAGER"
all=$(tr ' ' '\n' <<<"$RT_SWARM_NODE_NAMES" | sort | tr '\n' ' ' | sed 's/ $//')
check "web's three tasks run" rt_wait 90 _running_is web 3
check "  one on each node ($(nodes_of web))" rt_wait 30 _nodes_are web "$all"

# ---------------------------------------------------------------- rollout

check "a client on the overlay network gets web v1" client_start
WEB_IMAGE=$IMG_WEB_V2
write_manifest
rev2=$(dl_commit_push "swarm3: web v2")
t0=$SECONDS
check "the bump of three replicas converges" dl_wait_head 300 "$rev2" "in-sync converged"
t_roll=$((SECONDS - t0))
check "web runs v2" test "$(svc_image web)" = "$IMG_WEB_V2"
check "three tasks of v2 run" rt_wait 90 _running_is web 3
client_stop
if [ "$CL_FAIL" = 0 ] && [ "$CL_OK" -gt 0 ]; then
	ok "start-first over three nodes, one task at a time (${t_roll} s): $CL_OK requests, 0 failed (bodies: $CL_SEEN)"
else
	fail "start-first over three nodes, one task at a time (${t_roll} s): $CL_OK requests, $CL_FAIL failed (bodies: $CL_SEEN)"
fi
check "the client saw web v2" grep -q "web v2" <<<"$CL_SEEN"

# ---------------------------------------------------------------- broken image

WEB_IMAGE=$IMG_UNHEALTHY
write_manifest
rev3=$(dl_commit_push "swarm3: a broken web")
check "the broken revision is quarantined" dl_wait_status 300 \
	"any(q.get('revision') == '$rev3' for q in d.get('quarantined') or [])"
check "the journal has the failed rollout and Swarm's reason" rt_wait 60 _history_has \
	"Swarm rolled the update back"
check "web still runs v2 (Swarm rolled it back)" test "$(svc_image web)" = "$IMG_WEB_V2"
check "three tasks of v2 run" rt_wait 90 _running_is web 3
v=$(svc_version web)
check "no retry of the quarantined revision over three cycles" dl_wait_cycles 60 3
check "  (web was not touched again: version $v)" test "$(svc_version web)" = "$v"

# ---------------------------------------------------------------- drained node

# back to v2 (the manifest of rev2): nothing to update, the state is in sync
WEB_IMAGE=$IMG_WEB_V2
write_manifest
rev4=$(dl_commit_push "swarm3: web v2 again")
check "the next good commit is in sync" dl_wait_head 120 "$rev4" "in-sync converged"
vers=$(_services_versions)
DRAINED=$WORKER2
c0=$(dl_cycle)
check "node $DRAINED is drained" eval "sw node update --availability drain $DRAINED >/dev/null"
_moved() {
	_running_is web 3 && _running_is onworker 2 && _running_is onmanager 2 &&
		_only_on web "$MANAGER" "$WORKER1" && _only_on onworker "$WORKER1"
}
check "its tasks move to the other nodes" rt_wait 120 _moved
ok "  web on: $(nodes_of web); onworker on: $(nodes_of onworker)"
check "the reconciler goes on over three cycles" dl_wait_cycles 60 3 "$c0"
check "  and stays in sync" dl_wait_status 5 "d.get('head') == '$rev4' and d.get('state') == 'in-sync'"
expect_exit "diff says in sync while the node is drained" 0 \
	ctl diff -f "$mf" --backend swarm -H "$SW" --secrets-dir "$E2E_SECRETS"
check "  no service was touched (versions: $vers)" test "$(_services_versions)" = "$vers"
expect_exit "status reports the tasks Swarm moved" 0 \
	ctl status -f "$mf" --backend swarm -H "$SW" --secrets-dir "$E2E_SECRETS"
printf '%s\n' "$out" | sed 's/^/#   /'
expect_contains "  web: 3/3 running" "$(printf '%-16s %-24s %-10s %-10s 3/3 running' web "$P-web" running -)"
expect_contains "  onworker: 2/2 running" "$(printf '%-16s %-24s %-10s %-10s 2/2 running' onworker "$P-onworker" running -)"
check "node $DRAINED is made active again" eval "sw node update --availability active $DRAINED >/dev/null"
DRAINED=

check "reconcilerd stops on SIGTERM" dl_daemon_stop
