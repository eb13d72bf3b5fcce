# shellcheck shell=bash disable=SC2034,SC2154
# Shared by bench/rollout.sh and bench/memory.sh (sourced, not run): the
# daemon under test on a local Git remote, and the manifest shaped like
# manifests/prod.yaml. The caller sets top, tmp, PY, RECONCILERD,
# RECONCILERCTL and DPIDS=(), defines docker_cleanup and, for write_ref,
# sets R (its repo dir), PR (its project), HC_TEST, PORT_NGINX, PORT_PROM,
# PORT_GRAF and the test images (tests/env/lib.sh).

say() { printf '# %s\n' "$*" >&2; }

# bench ARGS...: the timing and memory helper (bench/rollout.py).
bench() { "$PY" "$top/bench/rollout.py" "$@"; }

# bench_cleanup_on_exit: on any exit, the daemons of DPIDS stopped, the
# caller's docker_cleanup run and $tmp removed; and a first docker_cleanup now.
bench_cleanup_on_exit() {
	trap bench__cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	docker_cleanup
}

bench__cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${DPIDS[@]}"; do
		stop_daemon "$pid"
	done
	docker_cleanup
	rm -rf "$tmp"
	exit "$rc"
}

# stop_daemon PID: SIGTERM, then SIGKILL after 30 s.
stop_daemon() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 150); do
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		[ -e "/proc/$pid" ] || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

git_w() { git -C "$1" -c user.name=rt-bench -c user.email=rt-bench@localhost "${@:2}"; }

# repo_init DIR: bare remote DIR/remote.git and work tree DIR/work.
repo_init() {
	git init -q --bare -b main "$1/remote.git"
	git init -q -b main "$1/work"
	git_w "$1/work" remote add origin "$1/remote.git"
	mkdir -p "$1/work/manifests" "$1/state" "$1/secrets"
	chmod 0700 "$1/state" "$1/secrets"
}

# commit_manifest DIR MSG: commit manifests/m.yaml (written by the caller);
# $HEAD is the commit. The push is the caller's (it is what is timed).
commit_manifest() {
	"$RECONCILERCTL" validate "$1/work/manifests/m.yaml" >/dev/null
	git_w "$1/work" add manifests/m.yaml
	git_w "$1/work" commit -q -m "$2"
	HEAD=$(git_w "$1/work" rev-parse HEAD)
}

# start_daemon DIR ARGS...: reconcilerd on DIR (repo_init), pid in DPID.
start_daemon() {
	local dir=$1
	shift
	"$RECONCILERD" --repo "file://$dir/remote.git" --branch main --manifest manifests/m.yaml \
		--state-dir "$dir/state" --secrets-dir "$dir/secrets" "$@" >>"$dir/reconcilerd.log" 2>&1 &
	DPID=$!
	DPIDS+=("$DPID")
}

# write_ref BACKEND-IMAGE FRONTEND-IMAGE: $R/work/manifests/m.yaml, seven
# services shaped like manifests/prod.yaml on the test images.
write_ref() {
	cat >"$R/work/manifests/m.yaml" <<EOF
# manifests/prod.yaml's shape on the test images
version: 1
project: $PR

x-health: &health
  test: $HC_TEST
  interval: 1s
  timeout: 1s
  retries: 3

x-data-health: &data-health
  test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/boot.log"]
  interval: 1s
  timeout: 1s
  retries: 3

services:
  backend:
    image: $1
    environment:
      DATABASE_URL: {secret: database_url}
      REDIS_URL: {secret: redis_url}
      CLAUDE_API_KEY: {secret: claude_api_key}
      OPENAI_API_KEY: {secret: openai_api_key}
      JWT_SECRET: {secret: jwt_secret}
      LOG_LEVEL: info
      ENVIRONMENT: production
    depends_on: [postgres, redis]
    networks:
      maicivy-network:
        aliases: [api]
    healthcheck:
      <<: *health
      start_period: 40s
    hooks:
      pre_deploy:
        - name: migrate
          command: ["true"]
          timeout: 5m

  frontend:
    image: $2
    environment:
      NEXT_PUBLIC_API_URL: http://backend:8080
    depends_on: [backend]
    networks: [maicivy-network]
    healthcheck: *health

  nginx:
    image: $IMG_WEB_V1
    ports:
      - "127.0.0.1:$PORT_NGINX:8080"
    depends_on: [backend, frontend]
    networks: [maicivy-network]
    healthcheck: *health
    on_dependency_update:
      - service: backend
        exec: ["true"]
      - service: frontend
        exec: ["true"]

  postgres:
    image: $IMG_STATEFUL
    environment:
      POSTGRES_USER: maicivy
      POSTGRES_PASSWORD: {secret: postgres_password}
      POSTGRES_DB: maicivy
    volumes:
      - postgres-data:/data
    networks: [maicivy-network]
    healthcheck: *data-health
    stop_grace_period: 30s

  redis:
    image: $IMG_STATEFUL
    secrets: [redis_password]
    volumes:
      - redis-data:/data
    networks: [maicivy-network]
    healthcheck: *data-health

  prometheus:
    image: $IMG_WEB_V1
    volumes:
      - prometheus-data:/prometheus
    networks: [maicivy-network]
    ports:
      - "127.0.0.1:$PORT_PROM:8080"
    healthcheck: *health

  grafana:
    image: $IMG_WEB_V1
    environment:
      GF_SECURITY_ADMIN_PASSWORD: {secret: grafana_password}
      GF_AUTH_ANONYMOUS_ENABLED: "true"
    volumes:
      - grafana-data:/var/lib/grafana
    networks: [maicivy-network]
    ports:
      - "127.0.0.1:$PORT_GRAF:8080"
    depends_on: [prometheus]
    healthcheck: *health

networks:
  maicivy-network:
    driver: bridge

volumes:
  postgres-data:
  redis-data:
  prometheus-data:
  grafana-data:

backups:
  postgres-weekly:
    service: postgres
    schedule: "0 3 * * 0"
    command: ["tar", "-C", "/data", "-cf", "-", "."]
    compress: gzip
    destination: $R/backups
    retention: {keep_last: 8}
EOF
}
