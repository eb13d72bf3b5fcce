#!/usr/bin/env bash
# reconcilerd with `backend: swarm` on the one-node test swarm
# (tests/env/swarm-up.sh): a project of Swarm services converged from Git:
#   the first deploy (overlay network, a Swarm secret named by its digest, a
#   pre-deploy hook run as a Swarm job, two replicas behind the health gate);
#   a start-first bump with zero failed requests from a client on the same
#   overlay network; a broken image rolled back by Swarm and reported as a
#   failed rollout, the revision quarantined (status, history, exit codes);
#   the next good commit; a hand edit (docker service update) found and put
#   back; a rotated secret (a new Swarm secret, the old one removed); a
#   service removed from the manifest (its volume kept); and the errors when
#   the backend does not match the engine (swarm on an engine that is no
#   manager, containers on a project that runs as Swarm services).
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-swarm
dl_setup "$P"
if ! e2e_swarm 1; then
	fail "setup: the one-node swarm is not up (tests/env/swarm-up.sh)"
	exit 1
fi
SW=$RT_SWARM_HOST
NET=${P}_app
VOL=${P}_data
sw() { docker -H "$SW" "$@"; }

# Everything the project made on the swarm goes, by label (volumes too: the
# test made them); then the usual cleanup of the main engine.
sw_cleanup() {
	local ids
	ids=$(sw service ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086 # one ID per word
	[ -z "$ids" ] || sw service rm $ids >/dev/null 2>&1
	ids=$(sw ps -aq --filter "label=$E2E_OWNER_LABEL=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || sw rm -f $ids >/dev/null 2>&1
	rt_wait 60 _sw_no_tasks
	# the containers of finished tasks (the hook's jobs) stay until removed
	ids=$(sw ps -aq --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || sw rm -f $ids >/dev/null 2>&1
	ids=$(sw secret ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || sw secret rm $ids >/dev/null 2>&1
	ids=$(sw network ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || rt_wait 30 sw network rm $ids >/dev/null 2>&1
	sw volume rm -f "$VOL" >/dev/null 2>&1
	return 0
}
_sw_no_tasks() { [ -z "$(sw ps -q --filter "label=io.reconciler.project=$P")" ]; }
sw_leftovers() {
	sw ps -a --filter "label=io.reconciler.project=$P" --format 'container {{.Names}}'
	sw service ls --filter "label=io.reconciler.project=$P" --format 'service {{.Name}}'
	sw secret ls --filter "label=io.reconciler.project=$P" --format 'secret {{.Name}}'
	sw network ls --filter "label=io.reconciler.project=$P" --format 'network {{.Name}}'
}
trap 'sw_cleanup; left=$(sw_leftovers); [ -z "$left" ] && ok "cleanup: nothing of $P is left on the swarm" || fail "cleanup: left on the swarm: $left"; dl_cleanup' EXIT
sw_cleanup

DL_MANIFEST=manifests/swarm.yaml
dl_repo_init "$E2E_TMP/git" || {
	fail "setup: git repositories"
	exit 1
}
mf=$DL_WORK/$DL_MANIFEST
mkdir -p "$(dirname "$mf")"
printf 'token-one\n' >"$E2E_SECRETS/token"
chmod 600 "$E2E_SECRETS/token"

WEB_IMAGE=$IMG_WEB_V1
WITH_STORE=1
ENV_NOTE=one
write_manifest() {
	local store=""
	if [ "$WITH_STORE" = 1 ]; then
		store="  store:
    image: $IMG_STATEFUL
    volumes: [\"data:/data\"]
    networks: [app]
    deploy:
      placement:
        constraints: [\"node.role == manager\"]"
	fi
	cat >"$mf" <<EOF
version: 1
project: $P
services:
  web:
    image: $WEB_IMAGE
    environment:
      NOTE: $ENV_NOTE
    secrets: [token]
    networks: [app]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
    update: {parallelism: 1, min_ready: 2s, timeout: 60s}
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      resources:
        limits: {memory: 64M}
    hooks:
      pre_deploy:
        - name: check
          command: ["sh", "-c", "test -s /run/secrets/token && echo hook-ran"]
          timeout: 60s
$store
networks:
  app: {}
volumes:
  data: {}
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
	h=$(ctl history --json --limit 1000 2>/dev/null) && grep -qF -- "$1" <<<"$h"
}
svc_label() { sw service inspect --format "{{index .Spec.Labels \"$2\"}}" "$P-$1" 2>/dev/null; }
svc_image() { sw service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$P-$1" 2>/dev/null; }
running_tasks() {
	sw service ps --filter desired-state=running --format '{{.CurrentState}}' "$P-$1" 2>/dev/null |
		grep -c '^Running'
}
_running_is() { [ "$(running_tasks "$1")" = "$2" ]; }

# The client: a container on the project's overlay network asking
# http://web:8080/ about 20 times a second. web's endpoint mode is dnsrr (the
# test kernel has no IPVS for Swarm's virtual IPs): its name resolves to its
# tasks' addresses, and like a client library the client tries them in turn
# until one answers. busybox wget crashes when it resolves a name or takes -T:
# nslookup resolves, `timeout` bounds.
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

# ---------------------------------------------------------------- mismatch

write_manifest
expect_exit "backend swarm on an engine that is no manager: exit 2" 2 \
	"$RECONCILERCTL" diff -f "$mf" --backend swarm -H "unix://$RT_DOCKER_SOCK" \
	--secrets-dir "$E2E_SECRETS" --state-dir "$DL_STATE"
expect_contains "  and it says so, and what to do" \
	"this engine is not a swarm manager (its node is inactive in no swarm): run \`docker swarm init\`"

# ---------------------------------------------------------------- first deploy

rev1=$(dl_commit_push "swarm: web v1 and a store")
DL_POLL=1s
dl_daemon_args
check "reconcilerd starts with backend: swarm" dl_daemon_start -c "$cfg" "${DL_ARGS[@]}"
check "it converges the first revision" dl_wait_head 180 "$rev1" "in-sync converged"
check "web is one Swarm service labelled with its spec" test -n "$(svc_label web io.reconciler.spec-hash)"
check "its revision label is the commit" test "$(svc_label web io.reconciler.revision)" = "$rev1"
check "two tasks of web run" rt_wait 60 _running_is web 2
check "the store runs on the manager" rt_wait 60 _running_is store 1
check "the network is an attachable overlay of the project" \
	test "$(sw network inspect --format '{{.Driver}} {{.Attachable}}' "$NET")" = "overlay true"
secret1=$(sw secret ls --filter "label=io.reconciler.project=$P" --format '{{.Name}}')
check "the secret file is a Swarm secret named by its digest" \
	grep -qE "^$P-web-token-[0-9a-f]{12}\$" <<<"$secret1"
check "the pre-deploy hook ran as a Swarm job" \
	grep -q hook-ran <(sw service logs --raw "$P-web-hook-check" 2>/dev/null)
check "a client on the overlay network gets web v1" client_start
check "status says in sync" dl_wait_head 30 "$rev1"

# ---------------------------------------------------------------- bump

WEB_IMAGE=$IMG_WEB_V2
write_manifest
rev2=$(dl_commit_push "swarm: web v2")
check "the bump converges" dl_wait_head 240 "$rev2" "in-sync converged"
check "web runs v2" test "$(svc_image web)" = "$IMG_WEB_V2"
check "two tasks of v2 run" rt_wait 60 _running_is web 2
client_stop
if [ "$CL_FAIL" = 0 ] && [ "$CL_OK" -gt 0 ]; then
	ok "start-first, one task at a time: $CL_OK requests, 0 failed (bodies: $CL_SEEN)"
else
	fail "start-first, one task at a time: $CL_OK requests, $CL_FAIL failed (bodies: $CL_SEEN)"
fi
check "the client saw web v2" grep -q "web v2" <<<"$CL_SEEN"

# ---------------------------------------------------------------- broken image

WEB_IMAGE=$IMG_UNHEALTHY
write_manifest
rev3=$(dl_commit_push "swarm: a broken web")
check "the broken revision is quarantined" dl_wait_status 300 \
	"any(q.get('revision') == '$rev3' for q in d.get('quarantined') or [])"
check "web still runs v2 (Swarm rolled it back)" test "$(svc_image web)" = "$IMG_WEB_V2"
check "two tasks of v2 run" rt_wait 60 _running_is web 2
check "the journal has the failed rollout and Swarm's reason" rt_wait 60 _history_has \
	"Swarm rolled the update back (rollback_completed): update rolled back due to failure"
ctl status -f "$mf" --backend swarm -H "$SW" >"$E2E_TMP/status" 2>&1
rc=$?
check "reconcilerctl status exits 1 (degraded)" test "$rc" = 1
n=$(sw service inspect --format '{{.Version.Index}}' "$P-web")
check "no retry of the quarantined revision" dl_wait_cycles 60 3
check "  (the service was not touched again)" \
	test "$(sw service inspect --format '{{.Version.Index}}' "$P-web")" = "$n"

# ---------------------------------------------------------------- next good commit

WEB_IMAGE=$IMG_WEB_V2
ENV_NOTE=two
write_manifest
rev4=$(dl_commit_push "swarm: web v2, a new note")
check "the next good commit converges" dl_wait_head 240 "$rev4" "in-sync converged"
check "web has the new environment" \
	grep -q NOTE=two <(sw service inspect --format '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' "$P-web")

# ---------------------------------------------------------------- drift by hand

c0=$(dl_cycle)
sw service update --detach --env-add HAND=1 --replicas 3 "$P-web" >/dev/null 2>&1
check "a hand edit is put back" rt_wait 240 eval \
	"! sw service inspect --format '{{json .Spec.TaskTemplate.ContainerSpec.Env}}' $P-web | grep -q HAND"
check "  with its replicas" rt_wait 60 eval \
	"[ \"\$(sw service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' $P-web)\" = 2 ]"
check "  the journal says it was changed by hand" rt_wait 120 _history_has \
	"changed outside the reconciler (docker service update): env, replicas"
check "  and the daemon converges again" dl_wait_cycles 120 1 "$c0"

# ---------------------------------------------------------------- rotated secret

printf 'token-two\n' >"$E2E_SECRETS/token"
ctl sync >/dev/null 2>&1
_secret_rotated() {
	local now
	now=$(sw secret ls --filter "label=io.reconciler.project=$P" --format '{{.Name}}')
	[ -n "$now" ] && [ "$now" != "$secret1" ] && [ "$(wc -l <<<"$now")" = 1 ]
}
check "a rotated secret is a new Swarm secret, the old one removed" rt_wait 240 _secret_rotated

# ---------------------------------------------------------------- removal

sw exec "$(sw ps -q --filter "label=com.docker.swarm.service.name=$P-store" | head -n 1)" \
	sh -c 'echo kept >/data/mark' >/dev/null 2>&1
WITH_STORE=0
write_manifest
rev5=$(dl_commit_push "swarm: no store")
check "a service removed from the manifest is removed" dl_wait_head 240 "$rev5" "in-sync converged"
check "  its Swarm service is gone" eval "! sw service inspect $P-store >/dev/null 2>&1"
check "  its volume is kept" sw volume inspect "$VOL"

# ---------------------------------------------------------------- containers backend

expect_exit "backend containers on a project that runs as Swarm services: exit 2" 2 \
	"$RECONCILERCTL" status -p "$P" -H "$SW" --state-dir "$DL_STATE"
expect_contains "  and it says so" "project '$P' runs as Swarm services on this engine"

check "reconcilerd stops on SIGTERM" dl_daemon_stop
