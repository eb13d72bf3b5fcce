# shellcheck shell=bash
# Settings and helpers shared by tests/env/swarm-up.sh and swarm-down.sh.
# Source it after lib.sh.
#
# Each swarm node is an extra dockerd in network namespaces of its own:
#   netns rt-swN          the node: its own loopback, iptables, docker0,
#                         docker_gwbridge and VXLAN port, and one interface
#                         "rtsw" with 198.18.77.N/24 (198.18.0.0/15 is the
#                         benchmarking range: no docker pool, no real network)
#   netns rt-swhub        a bare bridge "rtswbr" joining the nodes (its own
#                         netns: no iptables rule of any engine filters it)
#   rtsw0 (host)          198.18.77.254/24, a veth into the hub: the host
#                         reaches a port a node publishes (mode host) at
#                         198.18.77.N:PORT
#   netns-relay.py        one process: 127.0.0.1:5000 inside each node is the
#                         host's registry, so image references are unchanged
# The host's own iptables, docker0 and engine are never touched.

#
# Knobs (for a second, separate swarm beside the usual one; each needs its
# own RECONCILER_TEST_STATE too):
#   RT_SWARM_PREFIX   names of the namespaces and hostnames (default rt-sw)
#   RT_SWARM_SUBNET   the nodes' /24, three octets (default 198.18.77)

RT_SWARM_MAX=3
RT_SWARM_PREFIX=${RT_SWARM_PREFIX:-rt-sw}
RT_SWARM_SUBNET=${RT_SWARM_SUBNET:-198.18.77}
RT_SWARM_HOST_ADDR=$RT_SWARM_SUBNET.254
RT_SWARM_HUB=${RT_SWARM_PREFIX}hub
RT_SWARM_BRIDGE=rtswbr
RT_SWARM_HOST_IF=${RT_SWARM_PREFIX//-/}0
RT_SWARM_DIR=$RT_STATE/swarm
RT_SWARM_ENV=$RT_STATE/swarm.env
export RT_SWARM_MAX RT_SWARM_PREFIX RT_SWARM_SUBNET RT_SWARM_HOST_ADDR RT_SWARM_HUB \
	RT_SWARM_BRIDGE RT_SWARM_HOST_IF RT_SWARM_DIR RT_SWARM_ENV

# rt_swarm_ns N / rt_swarm_dir N / rt_swarm_addr N / rt_swarm_relay_pid N /
# rt_swarm_sock N
rt_swarm_ns() { printf '%s%s\n' "$RT_SWARM_PREFIX" "$1"; }
rt_swarm_dir() { printf '%s/swarm%s\n' "$RT_STATE" "$1"; }
rt_swarm_addr() { printf '%s.%s\n' "$RT_SWARM_SUBNET" "$1"; }
rt_swarm_relay_pid() { printf '%s/relay%s.pid\n' "$RT_SWARM_DIR" "$1"; }
rt_swarm_sock() { printf '%s/swarm%s/docker.sock\n' "$RT_STATE" "$1"; }

# rt_swarm_docker N ARGS...: the docker CLI against node N's engine.
rt_swarm_docker() {
	local n=$1
	shift
	docker -H "unix://$(rt_swarm_sock "$n")" "$@"
}

# rt_swarm_engine_ok N: node N's engine answers on its socket.
rt_swarm_engine_ok() {
	local sock
	sock=$(rt_swarm_sock "$1")
	[ -S "$sock" ] && curl -fsS -m 3 --unix-socket "$sock" http://x/_ping >/dev/null 2>&1
}

# rt_netns_exists NAME
rt_netns_exists() {
	[ -e "/run/netns/$1" ]
}

# rt_swarm_lock: serialise swarm-up.sh and swarm-down.sh (fd 8).
rt_swarm_lock() {
	mkdir -p "$RT_SWARM_DIR"
	exec 8>"$RT_SWARM_DIR/lock"
	if ! flock -n 8; then
		rt_log "waiting for another swarm-up.sh/swarm-down.sh ($RT_SWARM_DIR/lock)"
		flock -w 600 8 || rt_die "could not lock $RT_SWARM_DIR/lock"
	fi
}

# rt_swarm_python: the interpreter for netns-relay.py (the system one first).
rt_swarm_python() {
	if [ -x /usr/bin/python3 ]; then
		printf '/usr/bin/python3\n'
	else
		command -v python3
	fi
}
