#!/bin/bash
# Bring up a Docker Swarm for the tests (idempotent): 1 or 3 extra dockerd,
# one per node, each in network namespaces of its own (see swarm-lib.sh),
# with its own data root, exec root, pidfile, socket, cgroup parent and
# hostname (rt-swN). Node 1 is the manager, nodes 2 and 3 workers. Needs the
# registry of tests/env/up.sh; the host's engine is not used.
#   $RT_STATE/swarmN/{docker.sock,dockerd.pid,dockerd.log,data,exec}
# --nodes 1 after --nodes 3 takes the workers out again (their engines are
# stopped); a drained node is made active again.
# Prints the path of $RT_STATE/swarm.env last (RT_SWARM_SOCK, ...).
# Usage: tests/env/swarm-up.sh [--nodes 1|3]   (RT_QUIET=1: the last line only)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=swarm-lib.sh
. "$RT_ENV_DIR/swarm-lib.sh"

usage() {
	printf 'usage: %s [--nodes 1|3]\n' "${0##*/}" >&2
	exit 2
}

# ---------------------------------------------------------------- network

# ensure_hub: the hub netns with its bridge, and the host's veth into it.
ensure_hub() {
	rt_netns_exists "$RT_SWARM_HUB" || ip netns add "$RT_SWARM_HUB"
	ip -n "$RT_SWARM_HUB" link set lo up
	ip -n "$RT_SWARM_HUB" link show "$RT_SWARM_BRIDGE" >/dev/null 2>&1 ||
		ip -n "$RT_SWARM_HUB" link add "$RT_SWARM_BRIDGE" type bridge
	ip -n "$RT_SWARM_HUB" link set "$RT_SWARM_BRIDGE" up
	if ! ip link show "$RT_SWARM_HOST_IF" >/dev/null 2>&1; then
		ip -n "$RT_SWARM_HUB" link del h0 2>/dev/null || true
		ip link add "$RT_SWARM_HOST_IF" type veth peer name h0 netns "$RT_SWARM_HUB"
	fi
	sysctl -qw "net.ipv6.conf.$RT_SWARM_HOST_IF.disable_ipv6=1" 2>/dev/null || true
	ip -n "$RT_SWARM_HUB" link set h0 master "$RT_SWARM_BRIDGE" up
	ip addr replace "$RT_SWARM_HOST_ADDR/24" dev "$RT_SWARM_HOST_IF"
	ip link set "$RT_SWARM_HOST_IF" up
}

# ensure_node_net N: node N's netns, its interface "rtsw" on the hub bridge.
ensure_node_net() {
	local n=$1 ns
	ns=$(rt_swarm_ns "$n")
	rt_netns_exists "$ns" || ip netns add "$ns"
	ip -n "$ns" link set lo up
	if ! ip -n "$ns" link show rtsw >/dev/null 2>&1; then
		ip -n "$RT_SWARM_HUB" link del "h$n" 2>/dev/null || true
		ip -n "$RT_SWARM_HUB" link add "h$n" type veth peer name rtsw netns "$ns"
	fi
	ip -n "$RT_SWARM_HUB" link set "h$n" master "$RT_SWARM_BRIDGE" up
	ip -n "$ns" addr replace "$(rt_swarm_addr "$n")/24" dev rtsw
	ip -n "$ns" link set rtsw up
}

# remove_node_net N: node N's netns and its hub port.
remove_node_net() {
	local n=$1 ns
	ns=$(rt_swarm_ns "$n")
	ip -n "$RT_SWARM_HUB" link del "h$n" 2>/dev/null || true
	if rt_netns_exists "$ns"; then
		ip netns del "$ns" || rt_warn "could not delete netns $ns"
	fi
}

# ---------------------------------------------------------------- relay

relay_ok() {
	local n=$1
	nsenter --net="/run/netns/$(rt_swarm_ns "$n")" \
		curl -fsS -m 3 -o /dev/null "http://$RT_REGISTRY/v2/" 2>/dev/null
}

# ensure_relay N: 127.0.0.1:5000 in node N is the host's registry (one relay
# process a node: adding or removing a node leaves the others' alone).
ensure_relay() {
	local n=$1 pidfile log pid py rule
	pidfile=$(rt_swarm_relay_pid "$n")
	log=${pidfile%.pid}.log
	py=$(rt_swarm_python)
	rule="/run/netns/$(rt_swarm_ns "$n"),127.0.0.1,5000,-,127.0.0.1,5000"
	if rt_pidfile_alive "$pidfile" "${py##*/}" && relay_ok "$n"; then
		return 0
	fi
	rt_stop_pidfile "$pidfile" "${py##*/}" 10
	[ -f "$log" ] && mv -f "$log" "$log.1"
	rt_detach "$log" "$py" "$RT_ENV_DIR/netns-relay.py" "$rule"
	pid=$!
	printf '%s\n' "$pid" >"$pidfile"
	if ! rt_wait 10 relay_ok "$n"; then
		rt_tail "$log"
		rt_die "node $n: the registry relay (pid $pid) does not answer in $(rt_swarm_ns "$n")"
	fi
	rt_log "node $n: registry relay up (pid $pid, 127.0.0.1:5000 in $(rt_swarm_ns "$n"))"
}

# ---------------------------------------------------------------- engines

# The node's dockerd runs in its netns, in a mount namespace of its own with
# a sysfs of that netns (the overlay driver writes /sys/class/net/...; the
# cgroup mounts are carried over), and in a UTS namespace named rt-swN.
# shellcheck disable=SC2016 # expanded by that sh
RT_SWARM_NODE_SH='set -e
cg=$1 name=$2
shift 2
mount --rbind /sys/fs/cgroup "$cg"
mount -t sysfs sysfs /sys
mount --move "$cg" /sys/fs/cgroup
printf "%s\n" "$name" >/proc/sys/kernel/hostname
exec "$@"'

# node_daemon_json N: node N's configuration file. Its own key.json gives it
# its own engine ID (the default is the host's /etc/docker/key.json, so every
# engine would show the same ID; there is no command-line flag for it).
node_daemon_json() {
	printf '{"deprecated-key-path": "%s/key.json"}\n' "$(rt_swarm_dir "$1")"
}

# node_dockerd_cmd N: print node N's dockerd command line, one word a line.
node_dockerd_cmd() {
	local n=$1 dir
	dir=$(rt_swarm_dir "$n")
	printf '%s\n' dockerd \
		--config-file "$dir/daemon.json" \
		--host "unix://$dir/docker.sock" \
		--pidfile "$dir/dockerd.pid" \
		--data-root "$dir/data" \
		--exec-root "$dir/exec" \
		--cgroup-parent "/$(rt_swarm_ns "$n")" \
		--label "io.reconciler.test.node=$n"
}

ensure_engine() {
	local n=$1 dir ns log pidfile pid
	local -a cmd
	dir=$(rt_swarm_dir "$n")
	ns=$(rt_swarm_ns "$n")
	log=$dir/dockerd.log
	pidfile=$dir/dockerd.pid
	if rt_swarm_engine_ok "$n"; then
		if { node_dockerd_cmd "$n" && node_daemon_json "$n"; } | cmp -s - "$dir/dockerd.cmd"; then
			rt_log "node $n: dockerd answering on $(rt_swarm_sock "$n")"
			return 0
		fi
		rt_log "node $n: dockerd runs with another command line, restarting it"
		rt_stop_pidfile "$pidfile" dockerd 60
	fi
	if rt_pidfile_alive "$pidfile" dockerd; then
		rt_log "node $n: dockerd pid $(rt_pid_from_file "$pidfile") not answering yet, waiting"
		rt_wait 60 rt_swarm_engine_ok "$n" && return 0
		rt_tail "$log"
		rt_die "node $n: dockerd (pidfile $pidfile) does not answer"
	fi
	rm -f "$pidfile" "$dir/docker.sock"
	mkdir -p "$dir/data" "$dir/exec" "$dir/cgroup"
	# its own configuration: /etc/docker/daemon.json is the host's
	node_daemon_json "$n" >"$dir/daemon.json"
	mapfile -t cmd < <(node_dockerd_cmd "$n")
	{ printf '%s\n' "${cmd[@]}" && cat "$dir/daemon.json"; } >"$dir/dockerd.cmd"
	[ -f "$log" ] && mv -f "$log" "$log.1"
	rt_detach "$log" nsenter --net="/run/netns/$ns" -- \
		unshare --mount --uts --propagation slave -- \
		sh -c "$RT_SWARM_NODE_SH" rt-swarm-node "$dir/cgroup" "$ns" "${cmd[@]}"
	pid=$!
	rt_log "node $n: dockerd starting (pid $pid, log $log)"
	local deadline=$((SECONDS + 60))
	until rt_swarm_engine_ok "$n"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rt_tail "$log" 40
			rt_die "node $n: dockerd exited during start-up"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			printf '%s\n' "$pid" >"$pidfile"
			rt_stop_pidfile "$pidfile" dockerd 20
			rt_tail "$log" 40
			rt_die "node $n: dockerd not answering after 60 s"
		fi
		sleep 0.2
	done
	[ -s "$pidfile" ] || printf '%s\n' "$pid" >"$pidfile"
	rt_log "node $n: dockerd up (pid $pid)"
}

# stop_engine N: leave the swarm, stop node N's dockerd (only ours, by pidfile).
stop_engine() {
	local n=$1 dir
	dir=$(rt_swarm_dir "$n")
	if rt_swarm_engine_ok "$n"; then
		rt_swarm_docker "$n" swarm leave --force >/dev/null 2>&1 || true
	fi
	[ -f "$dir/dockerd.pid" ] && rt_stop_pidfile "$dir/dockerd.pid" dockerd 60
	rm -f "$dir/docker.sock"
}

# ---------------------------------------------------------------- swarm

node_state() {
	rt_swarm_docker "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}} {{.Swarm.NodeID}}'
}

ensure_manager() {
	local addr state ctl naddr id
	addr=$(rt_swarm_addr 1)
	read -r state ctl naddr id <<<"$(node_state 1)"
	if [ "$state" = active ] && [ "$ctl" = true ] && [ "$naddr" = "$addr" ]; then
		rt_log "node 1: swarm manager ($id)"
		return 0
	fi
	if [ "$state" != inactive ]; then
		rt_log "node 1: swarm state '$state' (manager $ctl, address $naddr): leaving it"
		rt_swarm_docker 1 swarm leave --force >/dev/null
	fi
	rt_swarm_docker 1 swarm init --advertise-addr "$addr" --listen-addr "$addr:2377" >/dev/null
	rt_log "node 1: swarm initialised, manager at $addr:2377"
}

manager_node_ids() {
	rt_swarm_docker 1 node ls --format '{{.ID}}'
}

ensure_worker() {
	local n=$1 addr state ctl naddr id token
	addr=$(rt_swarm_addr "$n")
	read -r state ctl naddr id <<<"$(node_state "$n")"
	if [ "$state" = active ] && [ "$naddr" = "$addr" ] && manager_node_ids | grep -qxF "$id"; then
		rt_log "node $n: swarm worker ($id)"
		return 0
	fi
	if [ "$state" != inactive ]; then
		rt_log "node $n: swarm state '$state' ($id), not in node 1's swarm: leaving it"
		rt_swarm_docker "$n" swarm leave --force >/dev/null
	fi
	token=$(rt_swarm_docker 1 swarm join-token -q worker)
	rt_swarm_docker "$n" swarm join --token "$token" --advertise-addr "$addr" \
		--listen-addr "$addr:2377" "$(rt_swarm_addr 1):2377" >/dev/null
	rt_log "node $n: joined as a worker"
}

# prune_nodes NODES: remove from the manager's list every node that is not
# one of nodes 1..NODES by hostname, or is a down duplicate of one; make the
# others active.
prune_nodes() {
	local nodes=$1 id host status avail want n
	while read -r id host status avail; do
		want=0
		for n in $(seq "$nodes"); do
			[ "$host" = "$(rt_swarm_ns "$n")" ] && want=1
		done
		if [ "$want" = 0 ] || [ "$status" = Down ]; then
			rt_swarm_docker 1 node rm --force "$id" >/dev/null 2>&1 || true
			rt_log "removed node $id ($host, $status) from the swarm"
		elif [ "$avail" != Active ]; then
			rt_swarm_docker 1 node update --availability active "$id" >/dev/null
			rt_log "node $host: availability $avail -> active"
		fi
	done < <(rt_swarm_docker 1 node ls --format '{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}}')
}

nodes_ready() {
	local want=$1 got
	got=$(rt_swarm_docker 1 node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}' |
		grep -c ' Ready Active$') || true
	[ "$got" = "$want" ] &&
		[ "$(rt_swarm_docker 1 node ls -q | wc -l)" = "$want" ]
}

write_env() {
	local nodes=$1 n workers="" addrs="" names=""
	for n in $(seq "$nodes"); do
		addrs="$addrs${addrs:+ }$(rt_swarm_addr "$n")"
		names="$names${names:+ }$(rt_swarm_ns "$n")"
		[ "$n" = 1 ] || workers="$workers${workers:+ }$(rt_swarm_sock "$n")"
	done
	{
		printf '# Written by tests/env/swarm-up.sh; source it.\n'
		printf 'RT_SWARM_NODES=%s\n' "$nodes"
		printf 'RT_SWARM_SOCK=%s\n' "$(rt_swarm_sock 1)"
		printf 'RT_SWARM_HOST=unix://%s\n' "$(rt_swarm_sock 1)"
		printf 'RT_SWARM_ADDR=%s\n' "$(rt_swarm_addr 1)"
		printf "RT_SWARM_ADDRS='%s'\n" "$addrs"
		printf "RT_SWARM_NODE_NAMES='%s'\n" "$names"
		printf "RT_SWARM_WORKER_SOCKS='%s'\n" "$workers"
	} >"$RT_SWARM_ENV.tmp"
	mv -f "$RT_SWARM_ENV.tmp" "$RT_SWARM_ENV"
}

# ---------------------------------------------------------------- main

main() {
	local nodes=1 n start=$SECONDS
	while [ $# -gt 0 ]; do
		case $1 in
		--nodes)
			[ $# -ge 2 ] || usage
			nodes=$2
			shift
			;;
		--nodes=*) nodes=${1#*=} ;;
		*) usage ;;
		esac
		shift
	done
	case $nodes in 1 | 3) ;; *) usage ;; esac
	[ "$(id -u)" = 0 ] || rt_die "swarm-up.sh needs root (network namespaces, dockerd)"
	for n in ip nsenter unshare dockerd curl; do
		command -v "$n" >/dev/null || rt_die "$n not found (tests/env/deps.sh)"
	done
	rt_registry_ok || rt_die "the registry does not answer on $RT_REGISTRY: run tests/env/up.sh"
	rt_swarm_lock
	rm -f "$RT_SWARM_ENV"

	ensure_hub
	for n in $(seq "$nodes"); do
		ensure_node_net "$n"
		ensure_relay "$n"
	done
	for n in $(seq "$nodes"); do
		ensure_engine "$n"
	done
	ensure_manager
	for n in $(seq 2 "$nodes"); do
		ensure_worker "$n"
	done
	for n in $(seq $((nodes + 1)) "$RT_SWARM_MAX"); do
		if [ -f "$(rt_swarm_dir "$n")/dockerd.pid" ] || rt_netns_exists "$(rt_swarm_ns "$n")"; then
			rt_log "node $n: not wanted (--nodes $nodes), stopping it"
			stop_engine "$n"
			rt_stop_pidfile "$(rt_swarm_relay_pid "$n")" "$(basename "$(rt_swarm_python)")" 10
			remove_node_net "$n"
		fi
	done
	prune_nodes "$nodes"
	if ! rt_wait 60 nodes_ready "$nodes"; then
		rt_swarm_docker 1 node ls >&2 || true
		rt_die "the swarm does not have $nodes ready, active nodes after 60 s"
	fi
	write_env "$nodes"
	rt_log "swarm of $nodes node(s) ready in $((SECONDS - start)) s (manager $(rt_swarm_sock 1))"
	printf '%s\n' "$RT_SWARM_ENV"
}

main "$@"
