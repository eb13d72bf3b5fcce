#!/usr/bin/env bash
# The three-node test swarm of tests/env/swarm-up.sh --nodes 3 (tests/run.sh
# brings it up for the swarm3-*.sh scenarios): one manager and two workers,
# all ready; a service of three replicas is spread over the three nodes; the
# overlay network carries traffic between nodes (VXLAN between the nodes'
# namespaces); a drained node's task moves to the others.
. "$(dirname "$0")/lib.sh"

e2e_swarm 3
e2e_setup rt-swenv3
P=rt-swenv3
L=(--label "io.reconciler.project=$P")

nodes() { sdocker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' | sort; }
want=$(for n in $RT_SWARM_NODE_NAMES; do
	if [ "$n" = "${RT_SWARM_NODE_NAMES%% *}" ]; then echo "$n Ready Active Leader"; else echo "$n Ready Active "; fi
done | sort)
check "three nodes, ready and active: one manager (leader), two workers" test "$(nodes)" = "$want"

quiet() { "$@" >/dev/null; }
check "an attachable overlay network is created" \
	quiet sdocker network create -d overlay --attachable "${L[@]}" "$P-net"
# no placement rule: the scheduler spreads a service's tasks over the nodes
check "a service of three replicas is created" \
	quiet sdocker service create -d -q --name "$P-web" "${L[@]}" --network "$P-net" \
	--endpoint-mode dnsrr --replicas 3 \
	--health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/health' \
	--health-interval 1s "$IMG_WEB_V1"

# running_on: the nodes of the service's running tasks, sorted, one line.
running_on() {
	local t ids
	ids=$(sdocker service ps -q --filter desired-state=running "$P-web") || return 1
	for t in $ids; do
		[ "$(sdocker inspect --format '{{.Status.State}}' "$t")" = running ] || continue
		sdocker inspect --format '{{.NodeID}}' "$t"
	done | while read -r id; do
		sdocker node inspect --format '{{.Description.Hostname}}' "$id"
	done | sort | tr '\n' ' '
}
three_running() { [ "$(running_on | wc -w)" = 3 ]; }
check "its three tasks run" rt_wait 90 three_running
all=$(tr " " "\n" <<<"$RT_SWARM_NODE_NAMES" | sort | tr "\n" " ")
check "one on each node ($(running_on))" test "$(running_on)" = "$all"

job_result() {
	local t
	t=$(sdocker service ps -q "$1" | head -n 1)
	[ -n "$t" ] && sdocker inspect --format '{{.Status.State}} {{.Status.ContainerStatus.ExitCode}}' "$t" 2>/dev/null
}
job_done() {
	case $(job_result "$1") in complete* | failed* | rejected*) return 0 ;; esac
	return 1
}
# From the last worker, every task by its own address (tasks.NAME): two of
# them are on other nodes. No wget -T: it segfaults in these images.
second=${RT_SWARM_NODE_NAMES##* }
# shellcheck disable=SC2016 # expanded in the task
check "a job on $second is created" \
	quiet sdocker service create -d -q --name "$P-client" "${L[@]}" --network "$P-net" \
	--mode replicated-job --restart-condition none --constraint "node.hostname==$second" \
	"$IMG_WEB_V1" sh -c 'n=0; for ip in $(nslookup tasks.'"$P"'-web | sed -n "s/^Address: //p" | grep -v ":53$"); do
		test "$(wget -qO- http://$ip:8080/)" = "web v1" || exit 1; n=$((n + 1)); done; test "$n" = 3'
rt_wait 60 job_done "$P-client"
check "it reaches all three tasks over the overlay network ($(job_result "$P-client"))" \
	test "$(job_result "$P-client")" = "complete 0"

# drain the middle node: its task moves to the other two
mid=$(tr " " "\n" <<<"$RT_SWARM_NODE_NAMES" | sed -n 2p)
check "node $mid is drained" quiet sdocker node update --availability drain "$mid"
moved() { case " $(running_on) " in *" $mid "*) return 1 ;; esac; three_running; }
check "its task moves: three run on the two others" rt_wait 60 moved
check "node $mid is made active again" quiet sdocker node update --availability active "$mid"
