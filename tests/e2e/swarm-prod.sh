#!/usr/bin/env bash
# manifests/swarm.yaml (the reference application of prod.yaml, expressed for
# a swarm) converged on the one-node test swarm with `reconcilerctl apply
# --backend swarm`: the same file with the test images in place of the real
# ones (and their healthchecks), the commands the real images have left out,
# host paths under a temp dir, free ports, and a secret file for each secret.
# Then it is in sync (no drift seen in a manifest of seven services), and the
# file itself is valid on swarm and refused on one host.
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

P=rt-swprod
e2e_setup "$P"
if ! e2e_swarm 1; then
	fail "setup: the one-node swarm is not up (tests/env/swarm-up.sh)"
	exit 1
fi
SW=$RT_SWARM_HOST
sw() { docker -H "$SW" "$@"; }
sw_cleanup() {
	local ids
	ids=$(sw service ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086 # one ID per word
	[ -z "$ids" ] || sw service rm $ids >/dev/null 2>&1
	rt_wait 60 eval "[ -z \"\$(sw ps -q --filter label=io.reconciler.project=$P)\" ]"
	ids=$(sw ps -aq --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || sw rm -f $ids >/dev/null 2>&1
	ids=$(sw secret ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || sw secret rm $ids >/dev/null 2>&1
	ids=$(sw network ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || rt_wait 30 sw network rm $ids >/dev/null 2>&1
	ids=$(sw volume ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || sw volume rm -f $ids >/dev/null 2>&1
	return 0
}
trap 'sw_cleanup; e2e_cleanup' EXIT
sw_cleanup

src=$E2E_TOP/manifests/swarm.yaml
expect_exit "manifests/swarm.yaml is valid on swarm" 0 "$RECONCILERCTL" validate --backend swarm "$src"
expect_exit "and refused on one host (its swarm keys)" 1 "$RECONCILERCTL" validate "$src"

mf=$E2E_TMP/swarm.yaml
srv=$E2E_TMP/srv
mkdir -p "$srv/ssl" "$srv/logs/nginx" "$srv/monitoring/grafana/dashboards" "$srv/monitoring/prometheus"
: >"$srv/monitoring/prometheus/prometheus.yml"
for s in database_url redis_url claude_api_key openai_api_key jwt_secret postgres_password \
	grafana_password redis_password discord_webhook_url; do
	printf '%s-%s\n' "$s" "$RANDOM" >"$E2E_SECRETS/$s"
	chmod 600 "$E2E_SECRETS/$s"
done
http=$(e2e_free_port)
https=$(e2e_free_port)
"$E2E_PYTHON" - "$src" "$mf" "$P" "$IMG_WEB_V1" "$IMG_STATEFUL" "$srv" "$http" "$https" <<'EOF'
import re, sys
src, dst, project, web, stateful, srv, http, https = sys.argv[1:]
s = open(src).read()
s = s.replace("project: maicivy", "project: " + project)
health = '["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]'
out, svc, section, skipping = [], None, None, False
for line in s.split("\n"):
    if re.match(r"^[a-z]", line):
        section = line.split(":")[0]
    m = re.match(r"^  ([a-z]+):$", line)
    if m:
        svc = m.group(1)
    if skipping and line.startswith("      - "):
        continue
    skipping = False
    # the test images run their own command: a service's command goes
    if section == "services" and re.match(r"^    command:", line):
        skipping = True
        continue
    if re.match(r"^    image: ", line):
        line = "    image: " + (stateful if svc in ("postgres", "redis") else web)
    elif re.match(r"^      test: ", line):
        # the stateful image serves its data directory, boot.log in it
        line = "      test: " + (health.replace("/health", "/boot.log")
                                 if svc in ("postgres", "redis") else health)
    elif re.match(r"^      (interval|start_period): ", line):
        line = re.sub(r": .*", ": 1s", line)
    elif re.match(r"^          command: ", line):
        line = '          command: ["sh", "-c", "echo migrated"]'
    out.append(line)
s = "\n".join(out)
s = s.replace("/srv/maicivy", srv)
s = s.replace('"80:80"', '"%s:8080"' % http).replace('"443:443"', '"%s:8080"' % https)
s = s.replace("<<: *web-health", "<<: *web-health\n      retries: 2")
open(dst, "w").write(s)
EOF
check "the test copy is valid on swarm" "$RECONCILERCTL" validate --backend swarm "$mf"

ctl() {
	local sub=$1
	shift
	"$RECONCILERCTL" "$sub" -f "$mf" --backend swarm -H "$SW" --secrets-dir "$E2E_SECRETS" \
		--state-dir "$E2E_STATE" "$@"
}
expect_exit "apply --backend swarm converges the seven services" 0 ctl apply -j 4
printf '%s\n' "$out" | tail -n 9 | sed 's/^/#   /'
running() {
	sw service ps --filter desired-state=running --format '{{.CurrentState}}' "$P-$1" 2>/dev/null |
		grep -c '^Running'
}
for s in backend frontend nginx postgres redis prometheus grafana; do
	want=1
	case $s in backend | frontend) want=2 ;; esac
	check "$s runs $want task(s)" rt_wait 60 eval "[ \"\$(running $s)\" = $want ]"
done
check "postgres runs on the manager" test "$(sw service ps --format '{{.Node}}' \
	--filter desired-state=running "$P-postgres" | head -n 1)" = "$(sw info --format '{{.Name}}')"
check "the migration ran as a job" \
	grep -q migrated <(sw service logs --raw "$P-backend-hook-migrate" 2>/dev/null)
expect_exit "then diff says in sync (no drift in what the engine keeps)" 0 ctl diff
expect_exit "and apply has nothing to do" 0 ctl apply
expect_contains "  (every service in sync)" "in sync, nothing to do"
