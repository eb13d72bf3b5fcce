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
set -euo pipefail

RT_FLEET_STATE=${RT_FLEET_STATE:-${RECONCILER_TEST_STATE:-/var/tmp/reconciler-test}/fleet}
export RECONCILER_TEST_STATE=$RT_FLEET_STATE
export RT_SWARM_PREFIX=${RT_FLEET_PREFIX:-rt-fl}
export RT_SWARM_SUBNET=${RT_FLEET_SUBNET:-198.18.79}
exec "$(dirname "${BASH_SOURCE[0]}")/swarm-up.sh" --nodes 1
