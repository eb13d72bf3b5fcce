# shellcheck shell=bash
# Common settings and helpers for the reconciler test environment.
# Source it:  . tests/env/lib.sh
#
# Environment knobs:
#   RECONCILER_TEST_STATE  state dir (default /var/tmp/reconciler-test)
#   RT_DOCKER_SOCK         docker socket (default /var/run/docker.sock)
#   RT_DOCKERD_ARGS        extra arguments for a dockerd started by up.sh.
#                          A second daemon (own socket, --data-root, --exec-root)
#                          must not use --bridge=none: dockerd then deletes the
#                          docker0 interface, breaking the first daemon's bridge.
#   RT_QUIET=1             silence progress lines

RT_ENV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RT_STATE=${RECONCILER_TEST_STATE:-/var/tmp/reconciler-test}
RT_REGISTRY=127.0.0.1:5000
RT_REGISTRY_URL=http://$RT_REGISTRY
RT_IMAGE_PREFIX=$RT_REGISTRY/reconciler-test
RT_IMAGES_ENV=$RT_STATE/images.env
RT_DOCKER_SOCK=${RT_DOCKER_SOCK:-/var/run/docker.sock}
RT_BUSYBOX=${RT_BUSYBOX:-/bin/busybox}
# Label carried by every test image (and therefore by every container run
# from one: Docker merges image labels into the container's labels).
RT_LABEL=io.reconciler.test=1
# Test projects are named rt-...; down.sh removes objects of such projects.
RT_PROJECT_PREFIX=rt-
export RT_ENV_DIR RT_STATE RT_REGISTRY RT_REGISTRY_URL RT_IMAGE_PREFIX RT_IMAGES_ENV \
	RT_DOCKER_SOCK RT_BUSYBOX RT_LABEL RT_PROJECT_PREFIX
export DOCKER_HOST=unix://$RT_DOCKER_SOCK

# ---------------------------------------------------------------- logging

rt_log() {
	[ "${RT_QUIET:-0}" = 1 ] || printf '[rt] %s\n' "$*"
}

rt_warn() {
	printf '[rt] warning: %s\n' "$*" >&2
}

rt_die() {
	printf '[rt] error: %s\n' "$*" >&2
	exit 1
}

# rt_tail FILE [N]: show the last lines of a log on stderr.
rt_tail() {
	local f=$1 n=${2:-30}
	[ -f "$f" ] || return 0
	printf '[rt] ---- last %s lines of %s ----\n' "$n" "$f" >&2
	tail -n "$n" "$f" >&2 || true
	printf '[rt] ----\n' >&2
}

# ---------------------------------------------------------------- processes

# rt_wait TIMEOUT_SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
rt_wait() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# rt_pid_from_file PIDFILE: print the PID stored in PIDFILE (digits only).
rt_pid_from_file() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[ -n "$pid" ] || return 1
	printf '%s\n' "$pid"
}

# rt_pid_alive PID [NAME]: PID is running (and its executable's basename is NAME).
rt_pid_alive() {
	local pid=$1 name=${2:-} exe
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	[ -n "$name" ] || return 0
	exe=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1) || return 1
	[ "${exe##*/}" = "$name" ]
}

rt_pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# rt_pidfile_alive PIDFILE NAME: the pidfile names a live process called NAME.
rt_pidfile_alive() {
	local pid
	pid=$(rt_pid_from_file "$1") || return 1
	rt_pid_alive "$pid" "$2"
}

# rt_stop_pidfile PIDFILE NAME [TIMEOUT]: TERM the process named in PIDFILE
# (only if it really is NAME), wait for it, KILL it after TIMEOUT seconds.
rt_stop_pidfile() {
	local pidfile=$1 name=$2 timeout=${3:-30} pid
	if ! pid=$(rt_pid_from_file "$pidfile"); then
		rm -f "$pidfile"
		return 0
	fi
	if ! rt_pid_alive "$pid" "$name"; then
		rt_log "stale pidfile $pidfile (pid $pid not a live $name), removing"
		rt_rm_pidfile "$pidfile" "$pid"
		return 0
	fi
	rt_log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	if ! rt_wait "$timeout" rt_pid_gone "$pid"; then
		rt_warn "$name (pid $pid) still alive after ${timeout}s, sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		rt_wait 5 rt_pid_gone "$pid" || true
	fi
	rt_rm_pidfile "$pidfile" "$pid"
}

# rt_rm_pidfile PIDFILE PID: remove PIDFILE if it still names PID.
rt_rm_pidfile() {
	local cur
	cur=$(rt_pid_from_file "$1" 2>/dev/null) || cur=""
	if [ -z "$cur" ] || [ "$cur" = "$2" ]; then
		rm -f "$1"
	fi
}

# rt_lock: serialise up.sh and down.sh runs sharing $RT_STATE (fd 9, held
# until the script exits).
# rt_detach LOG CMD...: start CMD as a daemon in its own session, its output
# in LOG, with every descriptor above 2 closed, so that it holds neither the
# lock (fd 9) nor a pipe of the caller (a test runner's tee, a $(...)): a
# daemon that did would keep the caller's reader waiting for EOF. $! is its pid.
rt_detach() {
	local log=$1
	shift
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
		done
		exec setsid nohup "$@" </dev/null >"$log" 2>&1
	) &
}

rt_lock() {
	mkdir -p "$RT_STATE"
	exec 9>"$RT_STATE/lock"
	if ! flock -n 9; then
		rt_log "waiting for another up.sh/down.sh ($RT_STATE/lock)"
		flock -w 300 9 || rt_die "could not lock $RT_STATE/lock"
	fi
}

# ---------------------------------------------------------------- docker

# rt_docker_ok: the docker socket answers.
rt_docker_ok() {
	[ -S "$RT_DOCKER_SOCK" ] || return 1
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -m 3 --unix-socket "$RT_DOCKER_SOCK" http://x/_ping >/dev/null 2>&1
	else
		timeout 5 docker version >/dev/null 2>&1
	fi
}

# rt_registry_code: HTTP status of GET /v2/ on the test registry (000 = nothing listens).
rt_registry_code() {
	curl -sS -m 3 -o /dev/null -w '%{http_code}' "$RT_REGISTRY_URL/v2/" 2>/dev/null || true
}

# rt_registry_ok: the test registry answers.
rt_registry_ok() {
	curl -fsS -m 3 -o /dev/null "$RT_REGISTRY_URL/v2/" 2>/dev/null
}

# rt_registry_digest REPO TAG: print the manifest digest the registry holds for
# REPO:TAG (REPO without the registry host, e.g. reconciler-test/web); fails if absent.
rt_registry_digest() {
	local repo=$1 tag=$2 digest
	digest=$(curl -fsS -m 10 -I \
		-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"$RT_REGISTRY_URL/v2/$repo/manifests/$tag" 2>/dev/null |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p') || return 1
	case $digest in
	sha256:*) printf '%s\n' "$digest" ;;
	*) return 1 ;;
	esac
}

# rt_registry_delete REF: delete a manifest from the test registry
# (REF = 127.0.0.1:5000/repo@sha256:... or 127.0.0.1:5000/repo:tag).
rt_registry_delete() {
	local ref=${1#"$RT_REGISTRY/"} repo digest
	case $ref in
	*@sha256:*) repo=${ref%@*} digest=${ref#*@} ;;
	*:*) repo=${ref%:*} digest=$(rt_registry_digest "$repo" "${ref##*:}") || return 1 ;;
	*) rt_warn "rt_registry_delete: bad reference $1"; return 1 ;;
	esac
	curl -fsS -m 10 -X DELETE -o /dev/null "$RT_REGISTRY_URL/v2/$repo/manifests/$digest"
}

# rt_image_present_local REF: the image is in the local docker image store.
rt_image_present_local() {
	docker image inspect "$1" >/dev/null 2>&1
}

# rt_image_rm_local REF: remove an image from the local docker image store,
# all tags and digests included, so that the next use of REF has to pull.
# Succeeds if it was not there. Containers still using it keep it alive
# (untagged) until they are removed.
rt_image_rm_local() {
	local id
	id=$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null) || return 0
	docker image rm -f "$id" >/dev/null
}

# rt_images_load: source images.env (written by up.sh) into the environment.
rt_images_load() {
	[ -f "$RT_IMAGES_ENV" ] || rt_die "$RT_IMAGES_ENV missing: run tests/env/up.sh"
	set -a
	# shellcheck source=/dev/null
	. "$RT_IMAGES_ENV"
	set +a
}

# ---------------------------------------------------------------- packages

rt_as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		rt_die "need root for: $*"
	fi
}

# rt_pkg_missing PKG...: print the packages that are not installed.
rt_pkg_missing() {
	local p st
	for p in "$@"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || printf '%s\n' "$p"
	done
}

# rt_apt_ensure PKG...: install the missing packages; one line if it did anything.
rt_apt_ensure() {
	local missing log
	missing=$(rt_pkg_missing "$@" | tr '\n' ' ')
	missing=${missing% }
	[ -n "$missing" ] || return 0
	mkdir -p "$RT_STATE"
	log=$RT_STATE/apt.log
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	if ! {
		rt_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			rt_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $missing
	} </dev/null >"$log" 2>&1; then
		rt_tail "$log" 40
		rt_die "apt-get install failed: $missing"
	fi
	# The docker-registry package enables and starts a system-wide registry on
	# :5000 (htpasswd auth) where an init system runs services; it would take
	# the port from ours. Disable it when we are the ones who installed it.
	case " $missing " in
	*" docker-registry "*) rt_disable_packaged_registry ;;
	esac
	printf '[rt] installed: %s\n' "$missing"
}

rt_disable_packaged_registry() {
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		rt_as_root systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
	elif [ -x /etc/init.d/docker-registry ]; then
		if rt_pidfile_alive /var/run/docker-registry.pid docker-registry; then
			rt_as_root /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
		fi
		rt_as_root update-rc.d docker-registry disable >/dev/null 2>&1 || true
	fi
}
