#!/bin/bash
# Stop the Docker socket proxy that tests/env/proxy-up.sh started for DIR
# (default $RT_STATE/proxy): only the haproxy its pidfile names.
# Usage: tests/env/proxy-down.sh [DIR]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir=${1:-$RT_STATE/proxy}
[ -d "$dir" ] || exit 0
exec 8>"$dir/lock"
flock -w 60 8 || rt_die "could not lock $dir/lock"
rt_stop_pidfile "$dir/haproxy.pid" haproxy 10
rm -f "$dir/docker.sock"
