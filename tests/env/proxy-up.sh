#!/bin/bash
# Start the allow-list Docker socket proxy (haproxy with
# contrib/docker-socket-proxy/haproxy.cfg, or CONFIG) for tests: it listens on
# DIR/docker.sock and forwards what the list allows to $RT_DOCKER_SOCK, logging
# every request to DIR/haproxy.log. Idempotent: a proxy already serving DIR
# with the same configuration is kept, one with another is replaced.
# Prints the DOCKER_HOST value for it last (unix://DIR/docker.sock).
# Usage: tests/env/proxy-up.sh [-c CONFIG] [DIR]   (DIR: $RT_STATE/proxy)
# Stop it with tests/env/proxy-down.sh [DIR].
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

config=$RT_ENV_DIR/../../contrib/docker-socket-proxy/haproxy.cfg
if [ "${1:-}" = -c ]; then
	config=${2:?"-c needs a configuration file"}
	shift 2
fi
dir=${1:-$RT_STATE/proxy}
[ $# -le 1 ] || rt_die "usage: proxy-up.sh [-c CONFIG] [DIR]"
command -v haproxy >/dev/null || rt_die "haproxy is not installed (package haproxy: tests/env/deps.sh)"
[ -f "$config" ] || rt_die "$config: no such configuration"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pidfile=$dir/haproxy.pid
sock=$dir/docker.sock
log=$dir/haproxy.log

exec 8>"$dir/lock"
flock -w 60 8 || rt_die "could not lock $dir/lock"

proxy_ok() {
	[ -S "$sock" ] && curl -fsS -m 3 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1
}

# haproxy reads the two sockets and the log level from its environment
export DOCKER_PROXY_SOCKET=$sock DOCKER_ENGINE_SOCKET=$RT_DOCKER_SOCK DOCKER_PROXY_LOG_LEVEL=info
cp "$config" "$dir/haproxy.cfg.new"
if ! out=$(haproxy -c -q -f "$dir/haproxy.cfg.new" 2>&1); then
	printf '%s\n' "$out" >&2
	rm -f "$dir/haproxy.cfg.new"
	rt_die "$config: haproxy refuses the configuration"
fi
if rt_pidfile_alive "$pidfile" haproxy && cmp -s "$dir/haproxy.cfg.new" "$dir/haproxy.cfg" &&
	proxy_ok; then
	rm -f "$dir/haproxy.cfg.new"
	rt_log "docker socket proxy: pid $(rt_pid_from_file "$pidfile") already serving $sock"
	printf 'unix://%s\n' "$sock"
	exit 0
fi
rt_stop_pidfile "$pidfile" haproxy 10
rm -f "$sock"
mv -f "$dir/haproxy.cfg.new" "$dir/haproxy.cfg"
[ -f "$log" ] && mv -f "$log" "$log.1"
# in the foreground of its own session, detached from our pipes and the lock
rt_detach "$log" haproxy -db -f "$dir/haproxy.cfg"
pid=$!
printf '%s\n' "$pid" >"$pidfile"
if ! rt_wait 20 proxy_ok; then
	rt_tail "$log"
	rt_stop_pidfile "$pidfile" haproxy 10
	rt_die "the docker socket proxy does not answer on $sock"
fi
rt_log "docker socket proxy: up (pid $pid, $sock -> $RT_DOCKER_SOCK, log $log)"
printf 'unix://%s\n' "$sock"
