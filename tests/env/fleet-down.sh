#!/bin/bash
# Take down the extra engine of tests/env/fleet-up.sh (tests/env/swarm-down.sh
# with the same prefix, subnet and state directory). Its data root is kept
# (images stay pulled) unless --purge.
# Usage: tests/env/fleet-down.sh [--purge]
set -euo pipefail

RT_FLEET_STATE=${RT_FLEET_STATE:-${RECONCILER_TEST_STATE:-/var/tmp/reconciler-test}/fleet}
export RECONCILER_TEST_STATE=$RT_FLEET_STATE
export RT_SWARM_PREFIX=${RT_FLEET_PREFIX:-rt-fl}
export RT_SWARM_SUBNET=${RT_FLEET_SUBNET:-198.18.79}
exec "$(dirname "${BASH_SOURCE[0]}")/swarm-down.sh" "$@"
