#!/usr/bin/env bash
# reconcilerctl validate --backend: the keys only one backend honours are
# refused on the other, each at its own position with the fix; what both
# honour passes on both; the default is containers.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
img="r/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

# exact_errors NAME WANT_LINES: the error lines of $out, exactly.
exact_errors() {
	local got
	got=$(grep -F "$tmp/" <<<"$out")
	if [ "$got" = "$2" ]; then
		ok "$1"
	else
		fail "$1"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$got") | sed 's/^/#   /'
	fi
}

# A stack for a swarm: every key that backend swarm only honours.
cat >"$tmp/swarm.yaml" <<EOF
version: 1
project: t
services:
  api:
    image: $img
    update: {parallelism: 2, delay: 10s}
    deploy:
      mode: replicated
      replicas: 3
      placement: {constraints: [node.role==worker]}
      resources:
        limits: {cpus: "0.5", memory: 512m, pids: 100}
        reservations: {cpus: 0.25, memory: 128m}
      rollback_config: {order: start-first}
networks:
  mesh: {driver: overlay}
  plain:
EOF
expect_exit "swarm keys are valid on swarm" 0 "$RECONCILERCTL" validate --backend swarm "$tmp/swarm.yaml"
expect_contains "the summary names the backend" "$tmp/swarm.yaml: valid (1 service, backend swarm)"
expect_exit "swarm keys are refused on containers (the default)" 1 "$RECONCILERCTL" validate "$tmp/swarm.yaml"
why="applies to backend swarm only (this host's backend is containers): set backend: swarm in the daemon's config, or remove it"
exact_errors "each swarm key refused at its own position" "\
$tmp/swarm.yaml:6:14: services.api.update.parallelism: 'update.parallelism' $why
$tmp/swarm.yaml:6:30: services.api.update.delay: 'update.delay' $why
$tmp/swarm.yaml:8:7: services.api.deploy.mode: 'deploy.mode' $why
$tmp/swarm.yaml:9:7: services.api.deploy.replicas: 'deploy.replicas' $why
$tmp/swarm.yaml:10:33: services.api.deploy.placement.constraints[0]: constraint 'node.role==worker' applies to backend swarm only (this host's backend is containers, where a constraint reads node.hostname or node.labels.NAME: the host and host_labels of each daemon's config)
$tmp/swarm.yaml:13:24: services.api.deploy.resources.reservations.cpus: 'deploy.resources.reservations.cpus' $why
$tmp/swarm.yaml:14:7: services.api.deploy.rollback_config: 'deploy.rollback_config' $why"
expect_exit "--backend containers is the default" 1 "$RECONCILERCTL" validate --backend containers "$tmp/swarm.yaml"
expect_contains "the same refusal with --backend containers" \
	"$tmp/swarm.yaml:9:7: services.api.deploy.replicas: 'deploy.replicas' $why"

# What both backends honour: limits, a reserved memory, no network driver.
cat >"$tmp/both.yaml" <<EOF
version: 1
project: t
services:
  api:
    image: $img
    ports: ["8080:80", "0.0.0.0:8443:443"]
    deploy:
      resources:
        limits: {cpus: 2, memory: 1g, pids: 200}
        reservations: {memory: 256m}
networks:
  back: {internal: true}
EOF
expect_exit "limits and reservations.memory pass on containers" 0 "$RECONCILERCTL" validate "$tmp/both.yaml"
expect_contains "the containers summary is unchanged" "$tmp/both.yaml: valid (1 service)"
expect_exit "and on swarm" 0 "$RECONCILERCTL" validate --backend swarm "$tmp/both.yaml"

# A one-host manifest: what swarm cannot do.
cat >"$tmp/host.yaml" <<EOF
version: 1
project: t
services:
  db:
    image: $img
  api:
    image: $img
    ports: ["127.0.0.1:8080:80", "[::1]:8443:443", "9000:9000"]
    depends_on: [db]
    probe: {http: {port: 80}}
    on_dependency_update: [{service: db, signal: SIGHUP}]
networks:
  back: {driver: bridge}
  front: {driver: overlay}
EOF
expect_exit "a one-host manifest is valid on containers" 0 "$RECONCILERCTL" validate "$tmp/host.yaml"
expect_exit "and refused on swarm" 1 "$RECONCILERCTL" validate --backend swarm "$tmp/host.yaml"
swarm="applies to backend containers only (this host's backend is swarm)"
exact_errors "each containers key refused on swarm, with the fix" "\
$tmp/host.yaml:8:13: services.api.ports[0]: host address '127.0.0.1' $swarm: swarm publishes a port on every address of every node; remove the address
$tmp/host.yaml:8:34: services.api.ports[1]: host address '::1' $swarm: swarm publishes a port on every address of every node; remove the address
$tmp/host.yaml:10:5: services.api.probe: 'probe' $swarm: the HTTP probe execs in the container through the local engine; on swarm the gate is the healthcheck: use healthcheck
$tmp/host.yaml:11:5: services.api.on_dependency_update: 'on_dependency_update' $swarm: a signal or an exec reaches a container through the local engine, and a swarm service's tasks run on any node: remove it
$tmp/host.yaml:13:18: networks.back.driver: driver 'bridge' $swarm: swarm services attach to overlay networks; set driver: overlay, or leave driver out"

# Output forms carry the refusals like any error.
expect_exit "--json with --backend" 1 "$RECONCILERCTL" validate --json --backend swarm "$tmp/host.yaml"
# shellcheck disable=SC2154 # $out is set by expect_exit
if /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["backend"]=="swarm" and d["valid"] is False; e=d["files"][0]["errors"]; assert len(e)==5 and e[2]["path"]=="services.api.probe" and (e[2]["line"], e[2]["column"])==(10, 5), e' <<<"$out"; then
	ok "--json names the backend and the refusals"
else
	fail "--json names the backend and the refusals"; printf '%s\n' "$out" | sed 's/^/#   /'
fi
expect_exit "--github with --backend" 1 "$RECONCILERCTL" validate --github --backend swarm "$tmp/host.yaml"
expect_contains "--github annotates a refusal" "::error file=$tmp/host.yaml,line=10,col=5::services.api.probe: 'probe' $swarm"

# A manifest with errors of its own is not checked for a backend.
printf 'version: 1\nproject: t\nservices:\n  a:\n    image: x\n    deploy: {replicas: 2}\n' >"$tmp/bad.yaml"
expect_exit "a parse error comes alone" 1 "$RECONCILERCTL" validate "$tmp/bad.yaml"
expect_not_contains "no backend refusal beside a parse error" "applies to backend"

expect_exit "an unknown backend is a usage error" 2 "$RECONCILERCTL" validate --backend kubernetes "$tmp/both.yaml"
expect_contains "it names the choices" "unknown backend 'kubernetes' (expected containers or swarm)"
expect_exit "--backend needs a value" 2 "$RECONCILERCTL" validate "$tmp/both.yaml" --backend
