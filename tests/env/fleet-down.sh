#!/bin/bash
# Take down the extra engine of tests/env/fleet-up.sh (tests/env/swarm-down.sh
# with the same prefix, subnet and state directory). Its data root is kept
# (images stay pulled) unless --purge.
# RT_FLEET_USER=ID (as given to fleet-up.sh): this test is done with it; the
# engine stays up while another registered test (a live PID) still uses it,
# or when it was already up before the tests came.
# Usage: tests/env/fleet-down.sh [--purge]
set -euo pipefail

RT_FLEET_STATE=${RT_FLEET_STATE:-${RECONCILER_TEST_STATE:-/var/tmp/reconciler-test}/fleet}
export RECONCILER_TEST_STATE=$RT_FLEET_STATE
export RT_SWARM_PREFIX=${RT_FLEET_PREFIX:-rt-fl}
export RT_SWARM_SUBNET=${RT_FLEET_SUBNET:-198.18.79}
down="$(dirname "${BASH_SOURCE[0]}")/swarm-down.sh"
[ -n "${RT_FLEET_USER:-}" ] || exec "$down" "$@"

mkdir -p "$RT_FLEET_STATE/users"
exec 7>"$RT_FLEET_STATE/users.lock"
flock -w 900 7
rm -f "$RT_FLEET_STATE/users/$RT_FLEET_USER"
for u in "$RT_FLEET_STATE"/users/*; do
	[ -e "$u" ] || continue
	if [ -d "/proc/${u##*/}" ]; then
		echo "fleet-down.sh: kept, still used by ${u##*/}"
		exit 0
	fi
	rm -f "$u" # a test that ended without fleet-down.sh
done
if [ ! -e "$RT_FLEET_STATE/users.down-after" ]; then
	echo "fleet-down.sh: kept, it was up before the tests"
	exit 0
fi
"$down" "$@" 7>&-
rm -f "$RT_FLEET_STATE/users.down-after"
