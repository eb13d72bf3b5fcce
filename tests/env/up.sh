#!/bin/bash
# Bring up the real test environment (idempotent):
#   - dockerd answering on $RT_DOCKER_SOCK (reused if it answers, else started),
#   - a registry on 127.0.0.1:5000 (reused if it answers, else the Debian
#     docker-registry is started with storage under $RT_STATE/registry),
#   - the test images built FROM scratch with the static busybox, pushed,
#   - $RT_STATE/images.env with their digest references (path printed last).
# Usage: tests/env/up.sh            (RT_QUIET=1 to keep only the last line)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Bump to force a rebuild of every image when the build procedure changes.
RT_BUILD_REV=1

# VARIABLE NAME TAG [BUILD-ARG...]; the context is tests/env/images/NAME.
RT_BUILDS=(
	"IMG_WEB_V1 web v1 WEB_VERSION=v1"
	"IMG_WEB_V2 web v2 WEB_VERSION=v2"
	"IMG_UNHEALTHY unhealthy v1"
	"IMG_EXITS exits v1"
	"IMG_STATEFUL stateful v1"
	"IMG_SLEEPER sleeper v1"
)

# ---------------------------------------------------------------- dockerd

# Print the PIDs of running processes whose executable is NAME.
procs_named() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null | head -n 1) || continue
		[ "${exe##*/}" = "$1" ] && printf '%s\n' "${p#/proc/}"
	done
	return 0
}

# start_dockerd [PATH-PREFIX]: start dockerd in the background, wait for it.
start_dockerd() {
	local path_prefix=${1:-} pidfile=$RT_STATE/dockerd.pid log=$RT_STATE/dockerd.log pid
	local -a extra=()
	if [ -n "${RT_DOCKERD_ARGS:-}" ]; then
		read -r -a extra <<<"$RT_DOCKERD_ARGS"
	fi
	[ -f "$log" ] && mv -f "$log" "$log.1"
	rm -f "$pidfile"
	# dockerd refuses to start while its pidfile names a live process; its
	# default /var/run/docker.pid may be stale, so it gets its own pidfile.
	rt_detach "$log" env PATH="$path_prefix${path_prefix:+:}$PATH" \
		dockerd --host "unix://$RT_DOCKER_SOCK" --pidfile "$pidfile" "${extra[@]}"
	pid=$!
	rt_log "dockerd: starting (pid $pid, log $log)"
	local deadline=$((SECONDS + 60))
	while ! rt_docker_ok; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rt_warn "dockerd exited during start-up"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			rt_warn "dockerd not answering after 60 s, stopping it"
			printf '%s\n' "$pid" >"$pidfile"
			rt_stop_pidfile "$pidfile" dockerd 20
			return 1
		fi
		sleep 0.2
	done
	# dockerd writes the pidfile itself; make sure it is there for down.sh.
	[ -s "$pidfile" ] || printf '%s\n' "$pid" >"$pidfile"
	rt_log "dockerd: up (pid $pid)"
}

ensure_dockerd() {
	local pidfile=$RT_STATE/dockerd.pid log=$RT_STATE/dockerd.log pids
	if rt_docker_ok; then
		rt_log "dockerd: answering on $RT_DOCKER_SOCK"
		return 0
	fi
	if rt_pidfile_alive "$pidfile" dockerd; then
		rt_log "dockerd: pid $(rt_pid_from_file "$pidfile") (ours) not answering yet, waiting"
		rt_wait 60 rt_docker_ok && return 0
		rt_tail "$log"
		rt_die "dockerd started earlier (pidfile $pidfile) does not answer on $RT_DOCKER_SOCK"
	fi
	if [ -f "$pidfile" ]; then
		rt_log "dockerd: removing stale pidfile $pidfile"
		rm -f "$pidfile"
	fi
	# Never start a second daemon next to one we did not start (unless a
	# non-default socket asks for a separate daemon, see RT_DOCKERD_ARGS).
	pids=""
	if [ "$RT_DOCKER_SOCK" = /var/run/docker.sock ]; then
		pids=$(procs_named dockerd | tr '\n' ' ')
	fi
	if [ -n "$pids" ]; then
		rt_log "dockerd: pid $pids(not ours) running, waiting for $RT_DOCKER_SOCK"
		rt_wait 60 rt_docker_ok && return 0
		rt_die "a dockerd (pid $pids) runs but $RT_DOCKER_SOCK does not answer; not starting another"
	fi
	if [ -e "$RT_DOCKER_SOCK" ] || [ -L "$RT_DOCKER_SOCK" ]; then
		rt_log "dockerd: removing stale socket $RT_DOCKER_SOCK"
		rm -f "$RT_DOCKER_SOCK"
	fi
	command -v dockerd >/dev/null || rt_die "dockerd not found (package docker.io)"
	start_dockerd && return 0
	rt_tail "$log" 40
	# Kernels without nf_tables (or with only legacy rules) need iptables-legacy.
	# Retry once with it first in dockerd's PATH; the system alternative is untouched.
	if grep -qiE 'iptables|nf_tables|nftables' "$log" && [ -x /usr/sbin/iptables-legacy ]; then
		local legacy=$RT_STATE/iptables-legacy
		mkdir -p "$legacy"
		ln -sf /usr/sbin/iptables-legacy "$legacy/iptables"
		ln -sf /usr/sbin/ip6tables-legacy "$legacy/ip6tables"
		rt_log "dockerd: retrying with iptables-legacy"
		start_dockerd "$legacy" && return 0
		rt_tail "$log" 40
	fi
	rt_die "dockerd failed to start (log $log); try RT_DOCKERD_ARGS='--iptables=false' or the other iptables alternative"
}

# ---------------------------------------------------------------- registry

write_registry_config() {
	mkdir -p "$RT_STATE/registry"
	cat >"$RT_STATE/registry.yml.tmp" <<EOF
# Written by tests/env/up.sh
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $RT_STATE/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $RT_REGISTRY
  headers:
    X-Content-Type-Options: [nosniff]
EOF
	mv -f "$RT_STATE/registry.yml.tmp" "$RT_STATE/registry.yml"
}

ensure_registry() {
	local pidfile=$RT_STATE/registry.pid log=$RT_STATE/registry.log code pid
	code=$(rt_registry_code)
	case $code in
	200)
		rt_log "registry: answering on $RT_REGISTRY"
		return 0
		;;
	000 | "") ;;
	*)
		rt_die "something answers on $RT_REGISTRY with HTTP $code to GET /v2/ (the packaged" \
			"docker-registry service, with auth? 'systemctl disable --now docker-registry')"
		;;
	esac
	if rt_pidfile_alive "$pidfile" docker-registry; then
		pid=$(rt_pid_from_file "$pidfile")
		rt_log "registry: pid $pid (ours) not answering yet, waiting"
		rt_wait 15 rt_registry_ok && return 0
		rt_warn "registry pid $pid does not answer, restarting it"
		rt_tail "$log"
		rt_stop_pidfile "$pidfile" docker-registry 10
	elif [ -f "$pidfile" ]; then
		rt_log "registry: removing stale pidfile $pidfile"
		rm -f "$pidfile"
	fi
	[ -x /usr/bin/docker-registry ] || rt_die "/usr/bin/docker-registry missing (package docker-registry)"
	write_registry_config
	[ -f "$log" ] && mv -f "$log" "$log.1"
	rt_detach "$log" /usr/bin/docker-registry serve "$RT_STATE/registry.yml"
	pid=$!
	printf '%s\n' "$pid" >"$pidfile"
	rt_log "registry: starting (pid $pid, log $log)"
	local deadline=$((SECONDS + 30))
	until rt_registry_ok; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidfile"
			rt_tail "$log"
			rt_die "docker-registry exited during start-up"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			rt_tail "$log"
			rt_stop_pidfile "$pidfile" docker-registry 10
			rt_die "docker-registry not answering on $RT_REGISTRY after 30 s"
		fi
		sleep 0.2
	done
	rt_log "registry: up (pid $pid, storage $RT_STATE/registry)"
}

# ---------------------------------------------------------------- images

# context_hash DIR [BUILD-ARG...]: hash of the build inputs.
context_hash() {
	local dir=$1
	shift
	{
		printf 'rev %s\n' "$RT_BUILD_REV"
		(cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
		printf 'arg %s\n' "$@"
		sha256sum <"$RT_BUSYBOX"
	} | sha256sum | cut -d' ' -f1
}

# build_image NAME TAG [BUILD-ARG...]: build, push; print the pushed digest.
build_image() {
	local name=$1 tag=$2
	shift 2
	local ref=$RT_IMAGE_PREFIX/$name:$tag log=$RT_STATE/logs/build-$name-$tag.log
	local ctx arg rc=0
	local -a bargs=()
	for arg in "$@"; do
		bargs+=(--build-arg "$arg")
	done
	# The context gets a copy of the busybox binary; nothing binary is committed.
	ctx=$(mktemp -d "$RT_STATE/build.XXXXXX")
	cp -a "$RT_ENV_DIR/images/$name/." "$ctx/"
	cp "$RT_BUSYBOX" "$ctx/busybox"
	# Classic builder: Debian's 20.10 engine, no BuildKit needed.
	DOCKER_BUILDKIT=0 docker build --force-rm "${bargs[@]}" -t "$ref" "$ctx" \
		</dev/null >"$log" 2>&1 || rc=$?
	rm -rf "$ctx"
	if [ "$rc" != 0 ]; then
		rt_tail "$log"
		rt_die "docker build of $ref failed"
	fi
	push_image "$name" "$tag"
}

# push_image NAME TAG: push the local NAME:TAG; print the digest.
push_image() {
	local name=$1 tag=$2 digest
	local ref=$RT_IMAGE_PREFIX/$name:$tag log=$RT_STATE/logs/push-$name-$tag.log
	if ! docker push "$ref" </dev/null >"$log" 2>&1; then
		rt_tail "$log"
		rt_die "docker push of $ref failed"
	fi
	digest=$(rt_registry_digest "reconciler-test/$name" "$tag") ||
		rt_die "registry has no manifest for $ref after push"
	# The registry's digest must be among the image's RepoDigests.
	if ! docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" |
		grep -qxF "$RT_IMAGE_PREFIX/$name@$digest"; then
		rt_die "pushed digest $digest of $ref not in its RepoDigests"
	fi
	printf '%s\n' "$digest"
}

# local_has_digest NAME TAG DIGEST: the local NAME:TAG was pushed as DIGEST.
local_has_digest() {
	docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' \
		"$RT_IMAGE_PREFIX/$1:$2" 2>/dev/null | grep -qxF "$RT_IMAGE_PREFIX/$1@$3"
}

# ensure_image VAR NAME TAG [BUILD-ARG...]: append VAR lines to $RT_ENV_TMP.
# The local image is the reference when its inputs did not change: it is
# pushed again if the registry lost it or holds another build under the tag
# (builds are not reproducible: every build has a new digest).
ensure_image() {
	local var=$1 name=$2 tag=$3
	shift 3
	local ref=$RT_IMAGE_PREFIX/$name:$tag hashfile=$RT_STATE/hashes/$name-$tag
	local hash old_hash="" old_id="" id digest="" how
	hash=$(context_hash "$RT_ENV_DIR/images/$name" "$@")
	if [ -f "$hashfile" ]; then
		read -r old_hash old_id <"$hashfile" || true
	fi
	id=$(docker image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
	if [ "$hash" != "$old_hash" ] || { [ -n "$id" ] && [ "$id" != "$old_id" ]; }; then
		digest=$(build_image "$name" "$tag" "$@")
		id=$(docker image inspect --format '{{.Id}}' "$ref")
		how="built and pushed"
	elif [ -n "$id" ]; then
		if digest=$(rt_registry_digest "reconciler-test/$name" "$tag") &&
			local_has_digest "$name" "$tag" "$digest"; then
			how="up to date"
		else
			digest=$(push_image "$name" "$tag")
			how="pushed (registry tag missing or on another build)"
		fi
	elif digest=$(rt_registry_digest "reconciler-test/$name" "$tag"); then
		# Removed locally (rt_image_rm_local): the registry copy is current.
		docker pull -q "$ref" </dev/null >/dev/null || rt_die "docker pull $ref failed"
		id=$(docker image inspect --format '{{.Id}}' "$ref")
		how="pulled"
	else
		digest=$(build_image "$name" "$tag" "$@")
		id=$(docker image inspect --format '{{.Id}}' "$ref")
		how="built and pushed"
	fi
	printf '%s %s\n' "$hash" "$id" >"$hashfile.tmp"
	mv -f "$hashfile.tmp" "$hashfile"
	rt_log "image $name:$tag: $how ($digest)"
	printf '%s=%s\n' "$var" "$RT_IMAGE_PREFIX/$name@$digest" "${var}_TAG" "$ref" >>"$RT_ENV_TMP"
}

# ---------------------------------------------------------------- main

main() {
	local start=$SECONDS line
	local -a words
	rt_apt_ensure docker.io docker-registry busybox-static git curl
	rt_lock
	[ -x "$RT_BUSYBOX" ] || rt_die "$RT_BUSYBOX missing (package busybox-static)"
	mkdir -p "$RT_STATE/logs" "$RT_STATE/hashes"
	rm -rf "$RT_STATE"/build.* # contexts left by an interrupted run

	ensure_dockerd
	ensure_registry

	RT_ENV_TMP=$RT_STATE/images.env.tmp
	{
		printf '# Written by tests/env/up.sh; source it or include it from make.\n'
		printf 'RT_REGISTRY=%s\n' "$RT_REGISTRY"
	} >"$RT_ENV_TMP"
	for line in "${RT_BUILDS[@]}"; do
		read -r -a words <<<"$line"
		ensure_image "${words[@]}"
	done
	mv -f "$RT_ENV_TMP" "$RT_IMAGES_ENV"
	rt_log "environment ready in $((SECONDS - start)) s"
	printf '%s\n' "$RT_IMAGES_ENV"
}

main "$@"
