#!/bin/bash
# An extra engine for the fleet tests (tests/e2e/fleet*.sh): the one-node set
# of tests/env/swarm-up.sh under a prefix, subnet and state directory of its
# own, so it runs beside the swarm tests' engines. Its dockerd is in swarm
# mode, which changes nothing for standalone containers; 127.0.0.1:5000 in
# its network namespace is the host's registry (swarm-up.sh's relay).
#   $RT_FLEET_STATE (default $RT_STATE/fleet)/swarm1/docker.sock
# Prints the path of $RT_FLEET_STATE/swarm.env last (RT_SWARM_SOCK, ...).
# Usage: tests/env/fleet-up.sh   (RT_QUIET=1: the last line only);
# tests/env/fleet-down.sh takes it down.
# RT_FLEET_USER=ID (a test's PID): the engine is shared by the tests that
# use it at once; each registers here and calls fleet-down.sh with the same
# RT_FLEET_USER, which takes it down only once the last of them is done, and
# only when it was down before the first of them came.
set -euo pipefail

RT_FLEET_STATE=${RT_FLEET_STATE:-${RECONCILER_TEST_STATE:-/var/tmp/reconciler-test}/fleet}
export RECONCILER_TEST_STATE=$RT_FLEET_STATE
export RT_SWARM_PREFIX=${RT_FLEET_PREFIX:-rt-fl}
export RT_SWARM_SUBNET=${RT_FLEET_SUBNET:-198.18.79}
up="$(dirname "${BASH_SOURCE[0]}")/swarm-up.sh"
[ -n "${RT_FLEET_USER:-}" ] || exec "$up" --nodes 1

mkdir -p "$RT_FLEET_STATE/users"
exec 7>"$RT_FLEET_STATE/users.lock"
flock -w 900 7
env=$RT_FLEET_STATE/swarm.env
if ! { [ -f "$env" ] && curl -fsS -m 3 --unix-socket "$(sed -n 's/^RT_SWARM_SOCK=//p' "$env")" \
	http://x/_ping >/dev/null 2>&1; }; then
	: >"$RT_FLEET_STATE/users.down-after"
fi
"$up" --nodes 1 7>&-
: >"$RT_FLEET_STATE/users/$RT_FLEET_USER"
