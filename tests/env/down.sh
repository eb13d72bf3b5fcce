#!/bin/bash
# Remove what the tests left in docker: containers (forced, with their
# anonymous volumes), then networks, then volumes that carry the label
# io.reconciler.test=1 or whose io.reconciler.project label starts with "rt-".
# Nothing else is touched. Images and the registry's content are kept.
#
# Usage: tests/env/down.sh [--project NAME] [--dry-run] [--stop]
#   --project NAME  only objects labelled io.reconciler.project=NAME
#   --dry-run       list what would be removed, remove nothing
#   --stop          also stop the registry and dockerd, but only those up.sh
#                   started (named by $RT_STATE/registry.pid and dockerd.pid).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	printf 'usage: %s [--project NAME] [--dry-run] [--stop]\n' "${0##*/}" >&2
	exit 2
}

# test_objects KIND: print the IDs (names for volumes) of test objects of KIND
# (container, network or volume).
test_objects() {
	local kind=$1 key
	local -a ls
	case $kind in
	container) ls=(docker ps -a) key='{{.ID}}' ;;
	network) ls=(docker network ls) key='{{.ID}}' ;;
	volume) ls=(docker volume ls) key='{{.Name}}' ;;
	*) return 1 ;;
	esac
	if [ -n "$RT_DOWN_PROJECT" ]; then
		"${ls[@]}" --filter "label=io.reconciler.project=$RT_DOWN_PROJECT" --format "$key"
		return
	fi
	{
		"${ls[@]}" --filter "label=$RT_LABEL" --format "$key"
		"${ls[@]}" --filter label=io.reconciler.project \
			--format "$key"$'\t''{{.Label "io.reconciler.project"}}' |
			awk -F '\t' -v p="$RT_PROJECT_PREFIX" 'index($2, p) == 1 { print $1 }'
	} | sort -u
}

# remove KIND CMD...: remove the test objects of KIND with CMD; print the count.
remove() {
	local kind=$1 n=0 failed=0 obj
	shift
	local -a objs=()
	mapfile -t objs < <(test_objects "$kind")
	for obj in "${objs[@]}"; do
		if [ "$RT_DOWN_DRY" = 1 ]; then
			printf '[rt] would remove %s %s\n' "$kind" "$obj" >&2
			n=$((n + 1))
		elif "$@" "$obj" >/dev/null 2>"$RT_STATE/down.err"; then
			n=$((n + 1))
		else
			failed=$((failed + 1))
			rt_warn "could not remove $kind $obj: $(tr '\n' ' ' <"$RT_STATE/down.err")"
		fi
	done
	rm -f "$RT_STATE/down.err"
	printf '%s' "$n"
	[ "$failed" = 0 ]
}

main() {
	local stop=0 nc nn nv rc=0
	RT_DOWN_PROJECT="" RT_DOWN_DRY=0
	while [ $# -gt 0 ]; do
		case $1 in
		--stop) stop=1 ;;
		--project)
			[ $# -ge 2 ] || usage
			RT_DOWN_PROJECT=$2
			shift
			;;
		--project=*) RT_DOWN_PROJECT=${1#*=} ;;
		-n | --dry-run) RT_DOWN_DRY=1 ;;
		-h | --help) usage ;;
		*) usage ;;
		esac
		shift
	done
	rt_lock

	if rt_docker_ok; then
		nc=$(remove container docker rm -f -v) || rc=1
		nn=$(remove network docker network rm) || rc=1
		nv=$(remove volume docker volume rm -f) || rc=1
		if [ "$RT_DOWN_DRY" = 1 ]; then
			rt_log "would remove $nc containers, $nn networks, $nv volumes"
		else
			rt_log "removed $nc containers, $nn networks, $nv volumes"
		fi
	else
		rt_log "docker does not answer on $RT_DOCKER_SOCK; nothing to remove"
	fi

	if [ "$stop" = 1 ] && [ "$RT_DOWN_DRY" = 1 ]; then
		rt_log "would stop the registry and dockerd if up.sh started them"
	elif [ "$stop" = 1 ]; then
		if [ -f "$RT_STATE/registry.pid" ]; then
			rt_stop_pidfile "$RT_STATE/registry.pid" docker-registry 10
		fi
		if [ -f "$RT_STATE/dockerd.pid" ]; then
			rt_stop_pidfile "$RT_STATE/dockerd.pid" dockerd 60
		else
			rt_log "dockerd was not started by up.sh; leaving it running"
		fi
	fi
	return "$rc"
}

main "$@"
