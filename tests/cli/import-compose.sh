#!/usr/bin/env bash
# reconcilerctl import-compose: the reference application's production
# Compose file converts into a manifest that validates and has the shape of
# manifests/prod.yaml; every key without an equivalent is reported at its
# place (the exact list is asserted); ${VAR} become secret refs and no value
# or default of the host ever reaches the output; bad Compose files give
# positioned errors; -o writes atomically and never replaces a file silently.
# --resolve needs the engine and the registry: tests/e2e/import-compose.sh.
# shellcheck disable=SC2016 # ${VAR} and $(cat …) are meant literally here
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d /tmp/rt-cli-import.XXXXXX)
registry_pid=
trap '[ -z "$registry_pid" ] || kill "$registry_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
ref=/work/shared/reference/docker-compose.prod.yml
[ -f "$ref" ] || ref=tests/fuzz/seeds/compose/reference.yml
ks=tests/cli/compose/kitchen-sink.yml
ctl() { "$RECONCILERCTL" "$@"; }

# exact_lines NAME WANT_FILE GOT_FILE: the two files hold the same lines.
exact_lines() {
	if diff -u "$2" "$3" >"$tmp/diff.out"; then
		ok "$1"
	else
		fail "$1"
		sed 's/^/#   /' "$tmp/diff.out"
	fi
}

# unmapped FILE: the "not mapped"/"not pinned" reports of a run's stderr, as
# "LINE:COL: PATH: LEVEL".
unmapped() {
	grep -E ': not (mapped|pinned): ' "$1" |
		sed -E 's/^[^:]*:([0-9]+:[0-9]+: [^:]+): (not [a-z]+):.*/\1: \2/'
}

# --- the reference file ----------------------------------------------------
# Values the host might hold: none of them may reach the output.
export POSTGRES_PASSWORD=rt-host-pg-password-31337 JWT_SECRET=rt-host-jwt-31337
ctl import-compose --project maicivy "$ref" >"$tmp/ref.yaml" 2>"$tmp/ref.err"
rc=$?
if [ "$rc" = 1 ]; then ok "reference: converted, exit 1 (images left to give)"; else
	fail "reference: exit $rc, wanted 1"; sed 's/^/#   /' "$tmp/ref.err"; fi
expect_exit "reference: the output validates" 0 ctl validate "$tmp/ref.yaml"
expect_contains "reference: seven services" "valid (7 services)"
printf '%s\n' \
	"8:12: services.backend.image: not mapped" \
	"37:12: services.frontend.image: not mapped" \
	"56:12: services.nginx.image: not mapped" >"$tmp/want"
unmapped "$tmp/ref.err" >"$tmp/got"
exact_lines "reference: exactly the images with \${GITHUB_REPOSITORY_OWNER} are not mapped" \
	"$tmp/want" "$tmp/got"
out=$(cat "$tmp/ref.err")
expect_contains "reference: the report names file:line:col and the fix" \
	"$ref:8:12: services.backend.image: not mapped: the image uses a variable of the host; give it with --image backend=REF"
expect_contains "reference: container_name matches <project>-<service>" \
	"$ref:9:21: services.backend.container_name: note: 'maicivy-backend' is the name the reconciler gives the container"
expect_contains "reference: each secret conversion is reported" \
	"$ref:14:9: services.backend.environment[2]: secret: \${CLAUDE_API_KEY} becomes {secret: claude_api_key}"
expect_contains "reference: a partly templated value is reported" \
	"services.backend.environment[0]: secret: 'postgres://\${POSTGRES_USER}:\${POSTGRES_PASSWORD}@postgres:5432/\${POSTGRES_DB}?sslmode=disable' is only partly a variable"
expect_contains "reference: a port on every interface is noted" \
	"services.prometheus.ports[0]: note: port 9090 is published on every interface"
expect_contains "reference: the summary line" \
	"import-compose: 7 services written to the standard output; 3 things not mapped or not pinned (see above); 9 secret files to create"
expect_not_contains "reference: no secret value of the host in the report" "31337"
out=$(cat "$tmp/ref.yaml")
expect_not_contains "reference: no secret value of the host in the output" "31337"
expect_contains "reference: header says where it came from" "# Converted from the Compose file $ref by reconcilerctl import-compose."
expect_contains "reference: env secret ref" "      JWT_SECRET: {secret: jwt_secret}"
expect_contains "reference: the templated URL is one secret, its template a comment" \
	"      DATABASE_URL: {secret: database_url}   # postgres://\${POSTGRES_USER}:\${POSTGRES_PASSWORD}@postgres:5432/\${POSTGRES_DB}?sslmode=disable"
expect_contains "reference: plain values stay" "      REDIS_URL: redis://redis:6379"
expect_contains "reference: a variable in a command is read from its secret file" \
	"    command: \"exec redis-server --appendonly yes --requirepass \\\"\$(cat /run/secrets/redis_password)\\\"\""
expect_contains "reference: ... which is mounted" "    secrets:
      - redis_password"
expect_contains "reference: a variable in a CMD-SHELL test too" \
	"      test: [\"CMD-SHELL\", \"pg_isready -U \\\"\$(cat /run/secrets/postgres_user)\\\"\"]"
expect_contains "reference: depends_on with conditions becomes a list" "    depends_on: [postgres, redis]"
expect_contains "reference: a tag is kept with allow_tags" "    image: postgres:16-alpine
    allow_tags: true"
expect_contains "reference: relative binds are absolute" \
	"      - $(cd "$(dirname "$ref")" && pwd -P)/ssl:/etc/nginx/ssl:ro"
expect_contains "reference: durations" "      start_period: 40s"
expect_contains "reference: the secret files are listed at the end" "#   postgres_password  \${POSTGRES_PASSWORD}"
if grep -v '^ *#' "$tmp/ref.yaml" | sed 's/   # .*//' | grep -qF '${'; then
	fail "reference: a \${VAR} is left outside comments"
	grep -n -F '${' "$tmp/ref.yaml" | sed 's/^/#   /'
else
	ok "reference: every \${VAR} became a secret ref (only comments show the names)"
fi

# The same services, volumes and networks as the hand-written prod.yaml.
if /usr/bin/python3 - "$tmp/ref.yaml" manifests/prod.yaml <<'EOF'
import sys, yaml
a, b = (yaml.safe_load(open(f)) for f in sys.argv[1:3])
for k in ("project", "networks", "volumes"):
    assert a[k] == b[k], (k, a[k], b[k])
assert list(a["services"]) == list(b["services"]), (list(a["services"]), list(b["services"]))
for name, s in a["services"].items():
    t = b["services"][name]
    for k in ("restart", "depends_on", "networks", "command", "ports"):
        if k in ("networks",) and isinstance(t.get(k), dict):
            continue  # prod.yaml adds an alias by hand
        if k in ("command",) and name == "redis":
            continue  # prod.yaml reads the password in its own words
        if k == "ports":
            continue  # prod.yaml narrows some to 127.0.0.1, by hand
        assert s.get(k) == t.get(k), (name, k, s.get(k), t.get(k))
    if "healthcheck" in t and name not in ("postgres", "redis"):
        assert s["healthcheck"] == {**{kk: vv for kk, vv in t["healthcheck"].items()}}, (name, s["healthcheck"], t["healthcheck"])
EOF
then ok "reference: same services, volumes, networks and healthchecks as manifests/prod.yaml"; else
	fail "reference: differs from manifests/prod.yaml"; fi

# Everything given: exit 0, still valid.
expect_exit "reference with --image for each: everything mapped, exit 0" 0 ctl import-compose \
	--project maicivy --image backend=ghcr.io/maicivy/maicivy-backend:latest \
	--image frontend=ghcr.io/maicivy/maicivy-frontend:latest \
	--image nginx=ghcr.io/maicivy/maicivy-nginx:latest -o "$tmp/ref-full.yaml" "$ref"
expect_contains "... and says none is left" "0 things not mapped or not pinned;"
expect_exit "... the output validates" 0 ctl validate "$tmp/ref-full.yaml"
expect_exit "without --project the directory names it; container_name then differs" 1 \
	ctl import-compose -o "$tmp/ref-dir.yaml" "$ref"
expect_contains "... reported per service" "services.grafana.container_name: not mapped: the reconciler names the container"

# --- every kind of key -----------------------------------------------------
ctl import-compose --base-dir /srv/shop "$ks" >"$tmp/ks.yaml" 2>"$tmp/ks.err"
rc=$?
if [ "$rc" = 1 ]; then ok "kitchen sink: exit 1"; else fail "kitchen sink: exit $rc, wanted 1"; fi
unmapped "$tmp/ks.err" >"$tmp/got"
exact_lines "kitchen sink: the list of keys not mapped is exactly the expected one" \
	tests/cli/compose/kitchen-sink.unmapped "$tmp/got"
expect_exit "kitchen sink: the output validates" 0 ctl validate "$tmp/ks.yaml"
expect_exit "both outputs pass the JSON Schema too" 0 /usr/bin/python3 tests/schema_check.py \
	"$tmp/ref.yaml" "$tmp/ks.yaml"
out=$(cat "$tmp/ks.yaml" "$tmp/ks.err")
expect_not_contains "kitchen sink: a \${VAR:-default} default is never copied" "hunter2"
out=$(cat "$tmp/ks.err")
expect_contains "kitchen sink: build without image asks for --image" \
	"services.api.image: not mapped: no image to run (the reconciler does not build; build and push it in CI): give one with --image api=REPO@sha256:"
expect_contains "kitchen sink: a deploy key without an equivalent says why" \
	"services.api.deploy.restart_policy: not mapped: Swarm starts a new task when one stops; the manifest's restart is the policy of backend containers"
expect_contains "kitchen sink: update_config.monitor is the gate's limit" \
	"services.api.deploy.update_config.monitor: note: becomes update.timeout"
expect_not_contains "kitchen sink: no swarm key, no swarm note" "apply to backend swarm only"
expect_contains "kitchen sink: a cycle is cut and named" \
	"services.api.depends_on.db: not mapped: this dependency closes a cycle ('db' already depends on 'api')"
expect_contains "kitchen sink: the default is said to be left out" \
	"services.api.environment.DB_PASSWORD: secret: \${DB_PASSWORD} becomes {secret: db_password} (its default is not copied)"
expect_contains "kitchen sink: a variable passed from the host becomes a secret" \
	"services.api.environment.FROM_HOST: secret: 'FROM_HOST' is passed from the host's environment: it becomes {secret: from_host}"
out=$(cat "$tmp/ks.yaml")
expect_contains "kitchen sink: placeholder image" "    image: unset.invalid/placeholder@sha256:0000000000000000000000000000000000000000000000000000000000000000"
expect_contains "kitchen sink: a string command is split as Compose does" \
	'    command: ["./server", "--port", "8080", "--name", "my api"]'
expect_contains "kitchen sink: \$\$ is a literal \$" '      PLAIN: "cost $5"'
expect_contains "kitchen sink: env files go to the secrets directory" "    env_files: [env, api.env]"
expect_contains "kitchen sink: long port syntax keeps the host IP" '      - "127.0.0.1:8080:8080"'
expect_contains "kitchen sink: long volume syntax, read-only" "      - data:/data:ro"
expect_contains "kitchen sink: --base-dir for relative binds" "      - /srv/shop/conf:/conf"
expect_contains "kitchen sink: aliases" "      front: {aliases: [api-internal]}"
expect_contains "kitchen sink: logging from a merged anchor" '      options:
        max-size: "20m"
        max-file: "5"'
expect_contains "kitchen sink: durations in the manifest's units" "      interval: 1s500ms"
expect_contains "kitchen sink: stop_grace_period" "    stop_grace_period: 1m30s"
expect_contains "kitchen sink: a Compose secret with a target and mode" \
	'      - {source: api_key, target: "/run/secrets/key.txt", mode: 0440}'
expect_contains "kitchen sink: a variable inside single quotes of a shell test" \
	"pg_isready -U ''\\\"\$(cat /run/secrets/pguser)\\\"''"
expect_contains "kitchen sink: external network keeps its unprefixed name" "  front:
    external: true
    name: front"
expect_contains "kitchen sink: volume driver_opts" "    driver_opts:
      type: none"
expect_contains "kitchen sink: update_config becomes update" "    update:
      strategy: stop-first
      timeout: 20s"
expect_contains "kitchen sink: resource limits and a memory reservation" "    deploy:
      resources:
        limits:
          memory: \"512m\"
          cpus: \"1.5\"
          pids: 64
        reservations:
          memory: \"256m\""

# --- a Swarm stack file: deploy: maps, for backend swarm -------------------
ctl import-compose tests/cli/compose/stack.yml >"$tmp/stack.yaml" 2>"$tmp/stack.err"
rc=$?
if [ "$rc" = 0 ]; then ok "stack: everything mapped, exit 0"; else
	fail "stack: exit $rc, wanted 0"; sed 's/^/#   /' "$tmp/stack.err"; fi
expect_exit "stack: the output validates for backend swarm" 0 ctl validate --backend swarm "$tmp/stack.yaml"
expect_exit "stack: and is refused on containers, key by key" 1 ctl validate "$tmp/stack.yaml"
expect_contains "stack: replicas is swarm's" \
	"services.api.deploy.replicas: 'deploy.replicas' applies to backend swarm only (this host's backend is containers)"
expect_exit "stack: the output passes the JSON Schema" 0 /usr/bin/python3 tests/schema_check.py "$tmp/stack.yaml"
out=$(cat "$tmp/stack.err")
expect_contains "stack: the swarm keys are pointed out" \
	"services.api.deploy: note: mode, replicas, placement, reservations.cpus, rollback_config and update_config's parallelism and delay apply to backend swarm only"
out=$(cat "$tmp/stack.yaml")
expect_contains "stack: update_config becomes update" "    update:
      parallelism: 2
      delay: 10s
      strategy: start-first
      timeout: 1m"
expect_contains "stack: deploy" "    deploy:
      mode: replicated
      replicas: 3
      placement:
        constraints: [\"node.role == worker\", \"node.labels.zone != b\"]
        preferences: [{spread: \"node.labels.zone\"}]
        max_replicas_per_node: 2
      resources:
        limits:
          cpus: \"0.50\"
          memory: \"512M\"
        reservations:
          cpus: \"0.25\"
          memory: \"128M\"
      rollback_config:
        parallelism: 1
        delay: 5s
        order: stop-first
        monitor: 30s
        failure_action: pause"
expect_contains "stack: a global service" "    deploy:
      mode: global"

# A .env beside the file holds Compose's values: pointed at, never read.
mkdir "$tmp/envdir"
printf 'services:\n  a:\n    image: nginx:1\n    environment: ["X=${X}"]\n' >"$tmp/envdir/compose.yml"
printf 'X=rt-dotenv-value-31337\n' >"$tmp/envdir/.env"
expect_exit "a .env beside the file: converted" 0 ctl import-compose "$tmp/envdir/compose.yml"
expect_contains "... and pointed at" "note: $(cd "$tmp/envdir" && pwd -P)/.env sets the variables' values for Compose"
expect_not_contains "... but never read" "31337"

# --- errors ----------------------------------------------------------------
printf 'services:\n  web:\n    image: "nginx\n' >"$tmp/bad-yaml.yml"
expect_exit "not YAML: exit 2" 2 ctl import-compose -o "$tmp/never.yaml" "$tmp/bad-yaml.yml"
expect_contains "not YAML: positioned error" "$tmp/bad-yaml.yml:4:1: found unexpected end of stream while scanning a quoted scalar"
expect_contains "not YAML: says it was not converted" "was not converted"
if [ ! -e "$tmp/never.yaml" ]; then ok "not YAML: no output file"; else fail "not YAML: an output file was written"; fi
printf 'services:\n  web:\n    image: a\n  web:\n    image: b\n' >"$tmp/dup.yml"
expect_exit "duplicate key: exit 2" 2 ctl import-compose "$tmp/dup.yml"
expect_contains "duplicate key: at the second one" "$tmp/dup.yml:4:3: services.web: duplicate key 'web' (first at line 2)"
printf 'version: "3"\nservices:\n  web: nginx\n  Api:\n    image: x\n' >"$tmp/shape.yml"
expect_exit "bad shapes: exit 2" 2 ctl import-compose "$tmp/shape.yml"
expect_contains "a service that is not a mapping" "$tmp/shape.yml:3:8: services.web: expected a mapping, found a string"
expect_contains "a service name the manifest cannot hold" "$tmp/shape.yml:4:3: services.Api: the manifest names services with 1-63 lowercase letters"
printf 'volumes: {}\n' >"$tmp/nosvc.yml"
expect_exit "no services: exit 2" 2 ctl import-compose "$tmp/nosvc.yml"
expect_contains "no services: says so" "services: expected a mapping of services, found nothing"
printf -- '- a\n' >"$tmp/list.yml"
expect_exit "a list: exit 2" 2 ctl import-compose "$tmp/list.yml"
expect_contains "a list: positioned" "$tmp/list.yml:1:1: a Compose file is a mapping with 'services', found a list"

# Durations past the manifest's limits are said as such, at the Compose key,
# never as "a bug in import-compose".
printf 'services:\n  web:\n    image: nginx@sha256:%s\n    healthcheck:\n      test: ["CMD", "true"]\n      interval: 2h\n    stop_grace_period: 25h\n' \
	"$(printf 'a%.0s' $(seq 64))" >"$tmp/long.yml"
expect_exit "durations over the limits: converted without them" 1 ctl import-compose -o "$tmp/long.yaml" "$tmp/long.yml"
expect_contains "the interval's limit is named" "$tmp/long.yml:6:17: services.web.healthcheck.interval: not mapped: duration '2h' is more than the manifest's limit of 1h"
expect_contains "the grace period's limit is named" "$tmp/long.yml:7:24: services.web.stop_grace_period: not mapped: duration '25h' is more than the manifest's limit of 24h"
expect_not_contains "not called a bug" "bug in import-compose"
expect_exit "... the output validates" 0 ctl validate "$tmp/long.yaml"
printf 'services:\n  web:\n    image: nginx@sha256:%s\n    healthcheck:\n      test: ["CMD", "true"]\n      interval: 1h\n      timeout: 1h\n      retries: 1000\n' \
	"$(printf 'a%.0s' $(seq 64))" >"$tmp/gate.yml"
expect_exit "a healthcheck whose gate is too long: not converted" 2 ctl import-compose -o "$tmp/gate.yaml" "$tmp/gate.yml"
expect_contains "... and says why" "$tmp/gate.yml:5:7: services.web.healthcheck: the health gate this healthcheck implies would wait up to 2000h30s (start_period + (interval + timeout) * retries + 30s), more than the manifest's limit of 24h: lower them"
expect_not_contains "... not called a bug" "bug in import-compose"

# --- output file -----------------------------------------------------------
printf 'services:\n  web:\n    image: nginx@sha256:%s\n    ports: ["127.0.0.1:8080:80"]\n' \
	"$(printf 'a%.0s' $(seq 64))" >"$tmp/simple.yml"
mkdir "$tmp/out"
expect_exit "simple file: everything maps, exit 0" 0 ctl import-compose --project web -o "$tmp/out/m.yaml" "$tmp/simple.yml"
expect_exit "simple file: valid" 0 ctl validate "$tmp/out/m.yaml"
cp "$tmp/out/m.yaml" "$tmp/m.before"
expect_exit "an existing output is not replaced" 2 ctl import-compose --project other -o "$tmp/out/m.yaml" "$tmp/simple.yml"
expect_contains "... and --force is named" "exists (give --force to replace it)"
if cmp -s "$tmp/out/m.yaml" "$tmp/m.before"; then ok "... the file is untouched"; else fail "... the file changed"; fi
expect_exit "--force replaces it" 0 ctl import-compose --force --project other -o "$tmp/out/m.yaml" "$tmp/simple.yml"
if grep -q '^project: other$' "$tmp/out/m.yaml"; then ok "... with the new content"; else fail "... the content is old"; fi
if [ "$(ls -A "$tmp/out")" = m.yaml ]; then ok "no temporary file is left beside it"; else fail "files left: $(ls -A "$tmp/out")"; fi

# --- host paths with '.' or '..' segments --------------------------------
# A manifest refuses them (a prefix check would let /srv/../etc pass); the
# importer writes the path Docker would use, and says so.
cat >"$tmp/dots.yml" <<'EOF'
services:
  web:
    image: registry.example/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    volumes: ["/srv/app/../data:/data", "/srv/./conf:/conf:ro"]
EOF
ctl import-compose "$tmp/dots.yml" >"$tmp/dots.yaml" 2>"$tmp/dots.err"
out=$(cat "$tmp/dots.yaml")
expect_contains "dot segments: '..' resolved" "      - /srv/data:/data"
expect_contains "dot segments: '.' dropped" "      - /srv/conf:/conf:ro"
out=$(cat "$tmp/dots.err")
expect_contains "dot segments: the change is noted" "note: '/srv/app/../data' becomes '/srv/data'"
expect_exit "dot segments: the output validates" 0 ctl validate "$tmp/dots.yaml"

# --- usage -----------------------------------------------------------------
expect_exit "no file: usage error" 2 ctl import-compose
expect_contains "no file: says so" "no Compose file given"
expect_exit "two files: usage error" 2 ctl import-compose "$ref" "$ref"
expect_exit "--image without '=': usage error" 2 ctl import-compose --image web "$ref"
expect_exit "bad --project: usage error" 2 ctl import-compose --project Shop "$ref"
expect_exit "relative --base-dir: usage error" 2 ctl import-compose --base-dir srv "$ref"
expect_exit "--image for a service that does not exist" 2 ctl import-compose --image nope=nginx:1 "$tmp/simple.yml"
expect_contains "... is named" "--image nope=nginx:1: there is no service 'nope'"
expect_exit "a missing file: exit 2" 2 ctl import-compose "$tmp/nope.yml"
expect_exit "import-compose --help" 0 ctl import-compose --help
expect_contains "--help shows the usage" "usage: reconcilerctl import-compose"
expect_exit "help lists import-compose" 0 ctl help
expect_contains "help lists import-compose" "import-compose"

# --- --resolve against a registry that wants a bearer token ----------------
# A fake registry on loopback: HEAD on a manifest without a token gets 401 and
# a Bearer challenge; the token endpoint hands out "rt-token"; with it, the
# digest comes in Docker-Content-Digest if the Accept header asks for an
# image index. No engine is asked (-H points at no socket).
digest="sha256:$(printf 'ab%.0s' $(seq 32))"
/usr/bin/python3 - "$tmp/registry.port" "$digest" >"$tmp/registry.log" 2>&1 <<'PY' &
import http.server, sys
port_file, digest = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        sys.stderr.write("%s %s\n" % (self.command, self.path))
    def do_GET(self):
        if self.path.startswith("/token?") and "scope=repository%3Ateam%2Fapp%3Apull" in self.path:
            body = b'{"token": "rt-token"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
    def do_HEAD(self):
        port = self.server.server_address[1]
        if self.path not in ("/v2/team/app/manifests/v1", "/v2/team/app/manifests/gone"):
            self.send_response(404)
        elif self.headers.get("Authorization") != "Bearer rt-token":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token",'
                             'service="fake",scope="repository:team/app:pull"' % port)
        elif self.path.endswith("/gone"):
            self.send_response(404)
        elif "application/vnd.oci.image.index.v1+json" not in self.headers.get("Accept", ""):
            self.send_response(406)
        else:
            self.send_response(200)
            self.send_header("Docker-Content-Digest", digest)
        self.send_header("Content-Length", "0")
        self.end_headers()
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(port_file, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
registry_pid=$!
for _ in $(seq 50); do [ -s "$tmp/registry.port" ] && break; sleep 0.1; done
rport=$(cat "$tmp/registry.port" 2>/dev/null)
printf 'services:\n  app:\n    image: 127.0.0.1:%s/team/app:v1\n  old:\n    image: 127.0.0.1:%s/team/app:gone\n' \
	"$rport" "$rport" >"$tmp/token.yml"
expect_exit "--resolve with a token: converted, one image not pinned" 1 ctl import-compose --resolve \
	-H unix:///nonexistent/docker.sock -o "$tmp/token.yaml" "$tmp/token.yml"
expect_contains "the token was fetched and the digest pinned" \
	"services.app.image: note: '127.0.0.1:$rport/team/app:v1' is pinned as 127.0.0.1:$rport/team/app@$digest, from the registry"
expect_contains "a missing tag is not pinned, and says why" \
	"services.old.image: not pinned: cannot resolve '127.0.0.1:$rport/team/app:gone' to a digest: 127.0.0.1:$rport has no tag 'gone' of team/app"
expect_exit "... the output validates" 0 ctl validate "$tmp/token.yaml"
kill "$registry_pid" 2>/dev/null
wait "$registry_pid" 2>/dev/null
registry_pid=
