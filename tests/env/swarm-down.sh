#!/bin/bash
# Take down what tests/env/swarm-up.sh started: first the test objects on the
# swarm (services, then secrets, configs and networks whose
# io.reconciler.project label starts with "rt-", or that carry
# io.reconciler.test=1), then the nodes' dockerd (only those named by their
# pidfiles), the registry relay, the network namespaces, the hub bridge and
# the host's veth. The nodes' data roots are kept (a later swarm-up.sh is
# faster: images stay pulled) unless --purge.
# Usage: tests/env/swarm-down.sh [--objects-only] [--purge]
#   --objects-only  remove the test objects, leave the swarm running
#   --purge         also delete the data roots ($RT_STATE/swarmN)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=swarm-lib.sh
. "$RT_ENV_DIR/swarm-lib.sh"

usage() {
	printf 'usage: %s [--objects-only] [--purge]\n' "${0##*/}" >&2
	exit 2
}

# test_objects KIND: the IDs of the test objects of KIND on the manager.
test_objects() {
	local kind=$1 labels=.Spec.Labels
	local -a ids
	[ "$kind" != network ] || labels=.Labels
	{
		rt_swarm_docker 1 "$kind" ls -q --filter "label=$RT_LABEL"
		mapfile -t ids < <(rt_swarm_docker 1 "$kind" ls -q --filter label=io.reconciler.project)
		# `service ls --format` has no .Label: inspect them all at once
		[ "${#ids[@]}" = 0 ] ||
			rt_swarm_docker 1 "$kind" inspect --format \
				'{{.ID}}'$'\t''{{index '"$labels"' "io.reconciler.project"}}' "${ids[@]}" |
			awk -F '\t' -v p="$RT_PROJECT_PREFIX" 'index($2, p) == 1 { print $1 }'
	} | sort -u
}

# remove_objects: services first (their tasks hold the rest), then the others.
remove_objects() {
	local kind n ids
	for kind in service secret config network; do
		mapfile -t ids < <(test_objects "$kind" 2>/dev/null)
		n=${#ids[@]}
		[ "$n" -gt 0 ] || continue
		if ! rt_swarm_docker 1 "$kind" rm "${ids[@]}" >/dev/null 2>"$RT_SWARM_DIR/down.err"; then
			rt_warn "could not remove every $kind: $(tr '\n' ' ' <"$RT_SWARM_DIR/down.err")"
		fi
		rt_log "removed $n ${kind}s"
		# a network or secret is in use until the tasks are gone
		[ "$kind" != service ] || rt_wait 30 no_test_tasks || rt_warn "tasks still running after 30 s"
	done
	rm -f "$RT_SWARM_DIR/down.err"
}

no_test_tasks() {
	local n
	for n in $(seq "$RT_SWARM_MAX"); do
		rt_swarm_engine_ok "$n" || continue
		[ -z "$(rt_swarm_docker "$n" ps -q --filter label=com.docker.swarm.task.id)" ] || return 1
	done
}

main() {
	local objects_only=0 purge=0 n dir
	while [ $# -gt 0 ]; do
		case $1 in
		--objects-only) objects_only=1 ;;
		--purge) purge=1 ;;
		*) usage ;;
		esac
		shift
	done
	rt_swarm_lock

	if rt_swarm_engine_ok 1 &&
		[ "$(rt_swarm_docker 1 info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ]; then
		remove_objects
	fi
	[ "$objects_only" = 0 ] || return 0

	rm -f "$RT_SWARM_ENV"
	# the workers (at once: each takes seconds), then the manager: one that
	# goes first leaves them retrying
	for n in $(seq 2 "$RT_SWARM_MAX"); do
		dir=$(rt_swarm_dir "$n")
		[ ! -f "$dir/dockerd.pid" ] || rt_stop_pidfile "$dir/dockerd.pid" dockerd 60 &
	done
	wait
	for n in $(seq "$RT_SWARM_MAX"); do
		dir=$(rt_swarm_dir "$n")
		[ "$n" != 1 ] || [ ! -f "$dir/dockerd.pid" ] || rt_stop_pidfile "$dir/dockerd.pid" dockerd 60
		rm -f "$dir/docker.sock"
	done
	for n in $(seq "$RT_SWARM_MAX"); do
		[ ! -f "$(rt_swarm_relay_pid "$n")" ] ||
			rt_stop_pidfile "$(rt_swarm_relay_pid "$n")" "$(basename "$(rt_swarm_python)")" 10
	done
	for n in $(seq "$RT_SWARM_MAX"); do
		if rt_netns_exists "$(rt_swarm_ns "$n")"; then
			ip netns del "$(rt_swarm_ns "$n")" || rt_warn "could not delete netns $(rt_swarm_ns "$n")"
		fi
	done
	# the engines' cgroup parents (--cgroup-parent /rt-swN), once empty
	for n in $(seq "$RT_SWARM_MAX"); do
		for dir in /sys/fs/cgroup/*/"$(rt_swarm_ns "$n")" /sys/fs/cgroup/"$(rt_swarm_ns "$n")"; do
			[ ! -d "$dir" ] || rmdir "$dir" 2>/dev/null || rt_warn "cgroup $dir is not empty"
		done
	done
	if ip link show "$RT_SWARM_HOST_IF" >/dev/null 2>&1; then
		ip link del "$RT_SWARM_HOST_IF" || rt_warn "could not delete $RT_SWARM_HOST_IF"
	fi
	if rt_netns_exists "$RT_SWARM_HUB"; then
		ip netns del "$RT_SWARM_HUB" || rt_warn "could not delete netns $RT_SWARM_HUB"
	fi
	rt_log "swarm nodes stopped, namespaces and bridge removed"
	if [ "$purge" = 1 ]; then
		for n in $(seq "$RT_SWARM_MAX"); do
			dir=$(rt_swarm_dir "$n")
			[ -d "$dir" ] || continue
			if grep -qF " $dir/" /proc/self/mountinfo; then
				rt_warn "$dir still has mounts, not purging it"
				continue
			fi
			rm -rf "$dir"
		done
		rt_log "data roots purged"
	fi
}

main "$@"
