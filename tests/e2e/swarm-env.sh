#!/usr/bin/env bash
# The one-node test swarm of tests/env/swarm-up.sh (tests/run.sh brings it up
# for the swarm-*.sh scenarios): its engine is a manager, runs a replicated
# service from the test registry with a published port that answers from
# here, and a one-off job on an overlay network that reaches the service by
# name; the cleanup finds all of it by label.
# What this kernel cannot do (no IPVS): a virtual IP and the ingress routing
# mesh. Services are reached by DNS round robin (--endpoint-mode dnsrr) and
# publish in mode host, at the node's address $RT_SWARM_ADDR.
. "$(dirname "$0")/lib.sh"

e2e_swarm 1
e2e_setup rt-swenv
P=rt-swenv
L=(--label "io.reconciler.project=$P")
quiet() { "$@" >/dev/null; }

check "the swarm's engine is an active manager" \
	test "$(sdocker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')" = "active true"
check "it is not the host's engine (an engine ID of its own)" \
	test "$(sdocker info --format '{{.ID}}')" != "$(docker info --format '{{.ID}}')"

check "an attachable overlay network is created" \
	quiet sdocker network create -d overlay --attachable "${L[@]}" "$P-net"

port=$(e2e_free_port)
check "a replicated service from the registry is created" \
	quiet sdocker service create -d -q --name "$P-web" "${L[@]}" --network "$P-net" \
	--endpoint-mode dnsrr --replicas 1 \
	--publish "published=$port,target=8080,mode=host" \
	--health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/health' \
	--health-interval 1s --health-start-period 5s "$IMG_WEB_V1"

web_up() {
	local st
	st=$(sdocker service ps -q --filter desired-state=running "$P-web" | head -n 1) || return 1
	[ -n "$st" ] || return 1
	st=$(sdocker inspect --format '{{.Status.State}}' "$st") || return 1
	[ "$st" = running ]
}
check "its task runs" rt_wait 60 web_up

answer() { [ "$(curl -fsS -m 3 "http://$RT_SWARM_ADDR:$port/" 2>/dev/null)" = "web v1" ]; }
check "its published port answers from the host at $RT_SWARM_ADDR:$port" rt_wait 30 answer

# job NAME ARGS…: a one-off job (ReplicatedJob, no restart) of the project;
# job_done NAME: its task has ended; job_result NAME: "STATE EXIT-CODE".
job() {
	local name=$1
	shift
	sdocker service create -d -q --name "$name" "${L[@]}" --mode replicated-job \
		--restart-condition none "$@" >/dev/null
}
job_result() {
	local t
	t=$(sdocker service ps -q "$1" | head -n 1)
	[ -n "$t" ] && sdocker inspect --format '{{.Status.State}} {{.Status.ContainerStatus.ExitCode}}' "$t" 2>/dev/null
}
job_done() {
	case $(job_result "$1") in complete* | failed* | rejected*) return 0 ;; esac
	return 1
}

# busybox wget -T segfaults in these images: no -T
check "a job on the overlay network is created" \
	job "$P-client" --network "$P-net" "$IMG_WEB_V1" \
	sh -c "test \"\$(wget -qO- http://$P-web:8080/)\" = 'web v1'"
rt_wait 60 job_done "$P-client"
check "it reaches the service by name and exits 0 (complete 0: $(job_result "$P-client"))" \
	test "$(job_result "$P-client")" = "complete 0"

secret() { printf s3cret | sdocker secret create "${L[@]}" "$P-pw" - >/dev/null; }
check "a secret is created" secret
# shellcheck disable=SC2016 # expanded in the task
check "a job using it is created" \
	job "$P-secret" --secret "source=$P-pw,target=pw" "$IMG_WEB_V1" \
	sh -c 'test "$(cat /run/secrets/pw)" = s3cret'
rt_wait 60 job_done "$P-secret"
check "it reads the secret (complete 0: $(job_result "$P-secret"))" \
	test "$(job_result "$P-secret")" = "complete 0"
