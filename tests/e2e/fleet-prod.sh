#!/usr/bin/env bash
# manifests/fleet.yaml (the reference application split over two hosts)
# committed to one repository and converged from it with `reconcilerctl apply
# --repo --host-name --host-label` on two engines: the host's engine as data1 (role=data) and the extra engine of
# tests/env/fleet-up.sh as web1 (role=web). The same file with the test images
# in place of the real ones (as tests/e2e/swarm-prod.sh does for swarm.yaml),
# their commands left out, host paths under a temp dir, the published
# addresses on loopback with free ports. Each host runs exactly its services;
# a second apply has nothing to do on either.
# shellcheck disable=SC2016 # the checks given to eval expand when they run
set -uo pipefail

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

P=rt-fleetprod
e2e_setup "$P"

FLEET_ENV=$RT_STATE/fleet/swarm.env
# shared with the other fleet scripts that run meanwhile: fleet-down.sh
# takes it down after the last of them, if it was down before the first
export RT_FLEET_USER=$$
if ! RT_QUIET=1 "$E2E_TOP/tests/env/fleet-up.sh" >"$E2E_TMP/fleet-up.log" 2>&1; then
	fail "setup: the extra engine did not come up (tests/env/fleet-up.sh)"
	sed 's/^/# /' "$E2E_TMP/fleet-up.log"
	exit 1
fi
W_SOCK=$(sed -n 's/^RT_SWARM_SOCK=//p' "$FLEET_ENV")
declare -A ENGINE LABEL
# what reconcilerctl uses (data1's may be the socket proxy of tests/run.sh)
ENGINE[data1]=${E2E_DOCKER_HOST:-unix://$RT_DOCKER_SOCK}
ENGINE[web1]=unix://$W_SOCK
LABEL[data1]=role=data
LABEL[web1]=role=web
HOSTS="data1 web1"

# eng HOST ARGS…: the docker CLI against HOST's engine (the test's own view).
eng() {
	local h=$1
	shift
	case $h in
	data1) docker -H "unix://$RT_DOCKER_SOCK" "$@" ;;
	web1) docker -H "unix://$W_SOCK" "$@" ;;
	esac
}
w_cleanup() {
	local ids
	ids=$(eng web1 ps -aq --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086 # one ID per word
	[ -z "$ids" ] || eng web1 rm -f -v $ids >/dev/null 2>&1
	ids=$(eng web1 network ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || rt_wait 30 eng web1 network rm $ids >/dev/null 2>&1
	ids=$(eng web1 volume ls -q --filter "label=io.reconciler.project=$P" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || eng web1 volume rm -f $ids >/dev/null 2>&1
	return 0
}
w_leftovers() {
	eng web1 ps -a --filter "label=io.reconciler.project=$P" --format 'container {{.Names}}'
	eng web1 network ls --filter "label=io.reconciler.project=$P" --format 'network {{.Name}}'
	eng web1 volume ls --filter "label=io.reconciler.project=$P" --format 'volume {{.Name}}'
}
fl_cleanup() {
	local left
	w_cleanup
	left=$(w_leftovers 2>/dev/null)
	if [ -z "$left" ]; then
		ok "cleanup: nothing of $P is left on web1's engine"
	else
		fail "cleanup: left on web1's engine:"
		printf '%s\n' "$left" | sed 's/^/#   /'
	fi
	RT_QUIET=1 "$E2E_TOP/tests/env/fleet-down.sh" >"$E2E_TMP/fleet-down.log" 2>&1 ||
		{ echo "# fleet-down.sh failed:"; sed 's/^/#   /' "$E2E_TMP/fleet-down.log"; }
}
# shellcheck disable=SC2154 # rc is the trap's own
trap 'rc=$?; fl_cleanup; (exit $rc); e2e_cleanup' EXIT
w_cleanup

src=$E2E_TOP/manifests/fleet.yaml
expect_exit "manifests/fleet.yaml is valid" 0 "$RECONCILERCTL" validate "$src"

mf=$E2E_TMP/fleet.yaml
srv=$E2E_TMP/srv
mkdir -p "$srv/ssl" "$srv/logs/nginx" "$srv/monitoring/grafana/dashboards" \
	"$srv/monitoring/prometheus" "$E2E_TMP/backups"
: >"$srv/monitoring/prometheus/prometheus.yml"
for s in database_url redis_url claude_api_key openai_api_key jwt_secret postgres_password \
	grafana_password redis_password discord_webhook_url; do
	printf '%s-%s\n' "$s" "$RANDOM" >"$E2E_SECRETS/$s"
	chmod 600 "$E2E_SECRETS/$s"
done
ports=()
while [ "${#ports[@]}" -lt 8 ]; do
	p=$(e2e_free_port)
	case " ${ports[*]} " in *" $p "*) ;; *) ports+=("$p") ;; esac
done
"$E2E_PYTHON" - "$src" "$mf" "$P" "$IMG_WEB_V1" "$IMG_STATEFUL" "$srv" "$E2E_TMP/backups" \
	"${ports[@]}" <<'EOF'
import re, sys
src, dst, project, web, stateful, srv, backups = sys.argv[1:8]
http, https, pg, redis, prom, graf, url1, url2 = sys.argv[8:16]
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
s = s.replace("/srv/maicivy", srv).replace("/var/backups/maicivy", backups)
s = s.replace('"80:80"', '"127.0.0.1:%s:8080"' % http)
s = s.replace('"443:443"', '"127.0.0.1:%s:8080"' % https)
s = s.replace('"10.0.0.2:5432:5432"', '"127.0.0.1:%s:5432"' % pg)
s = s.replace('"10.0.0.2:6379:6379"', '"127.0.0.1:%s:6379"' % redis)
s = s.replace('"127.0.0.1:9090:9090"', '"127.0.0.1:%s:9090"' % prom)
s = s.replace('"127.0.0.1:3001:3000"', '"127.0.0.1:%s:3000"' % graf)
# no daemon listens there: apply has no move to wait for
s = s.replace('"http://10.0.0.2:9180"', '"http://127.0.0.1:%s"' % url1)
s = s.replace('"http://10.0.0.3:9180"', '"http://127.0.0.1:%s"' % url2)
s = s.replace("<<: *web-health", "<<: *web-health\n      retries: 2")
# the anchor's interval too: the gate waits for the first check
s = s.replace("&web-health\n  interval: 30s", "&web-health\n  interval: 1s")
open(dst, "w").write(s)
EOF
expect_exit "the test copy is valid" 0 "$RECONCILERCTL" validate "$mf"
check "  and has no address but loopback (comments aside)" eval \
	"! sed 's/#.*//' '$mf' | grep -E '10\\.0\\.0\\.|\"(80|443):'"

# One repository for both hosts: the copy committed to a bare remote at
# manifests/fleet.yaml, which each host reads from there.
repo=$E2E_TMP/fleet-repo
git init -q -b main "$repo.work" && mkdir -p "$repo.work/manifests" &&
	cp "$mf" "$repo.work/manifests/fleet.yaml" &&
	git -C "$repo.work" add -A &&
	git -C "$repo.work" -c user.name=t -c user.email=t@localhost commit -q -m fleet &&
	git clone -q --bare "$repo.work" "$repo.git"
check "setup: the copy is committed to one repository" test -d "$repo.git"

ctl() { # HOST SUBCOMMAND ARGS…: reconcilerctl as HOST of the fleet, from the repository
	local h=$1 sub=$2
	shift 2
	"$RECONCILERCTL" "$sub" --repo "file://$repo.git" --path manifests/fleet.yaml \
		-H "${ENGINE[$h]}" --host-name "$h" \
		--host-label "${LABEL[$h]}" --secrets-dir "$E2E_SECRETS" --state-dir "$E2E_STATE/$h" "$@"
}
mkdir -p "$E2E_STATE/data1" "$E2E_STATE/web1"
# services HOST: the services of the project's containers on HOST, sorted, one line
services() {
	eng "$1" ps -a --filter "label=io.reconciler.project=$P" \
		--format '{{.Label "io.reconciler.service"}} {{.Label "io.reconciler.role"}}' |
		sed -n 's/ \(primary\)\{0,1\}$//p' | sort | tr '\n' ' ' | sed 's/ $//'
}
running() { # HOST: the services whose container runs (healthy when it has a check)
	eng "$1" ps --filter "label=io.reconciler.project=$P" \
		--format '{{.Label "io.reconciler.service"}} {{.Status}}' |
		grep -v -e '(unhealthy)' -e '(health: starting)' | cut -d' ' -f1 | sort | tr '\n' ' ' | sed 's/ $//'
}
names() { # HOST KIND: the project's networks or volumes on HOST, sorted, one line
	eng "$1" "$2" ls --filter "label=io.reconciler.project=$P" --format '{{.Name}}' |
		sort | tr '\n' ' ' | sed 's/ $//'
}

data_svcs="postgres redis"
web_svcs="backend frontend grafana nginx prometheus"
expect_exit "diff as data1: its two services to create, the web tier elsewhere" 1 ctl data1 diff --no-color
for s in $web_svcs; do
	expect_contains "  @ $s" "@ $s (placed elsewhere: "
done
expect_exit "apply as data1 converges postgres and redis" 0 ctl data1 apply -j 2
printf '%s\n' "$out" | tail -n 4 | sed 's/^/#   /'
expect_exit "apply as web1 converges the web tier" 0 ctl web1 apply -j 4
printf '%s\n' "$out" | tail -n 6 | sed 's/^/#   /'
expect_contains "  its migration hook ran" "hook service=backend hook=migrate ok"
check "data1's engine has exactly postgres and redis" test "$(services data1)" = "$data_svcs"
check "web1's engine has exactly the web tier" test "$(services web1)" = "$web_svcs"
check "  all of them run, none unhealthy" eval \
	'[ "$(running data1)" = "$data_svcs" ] && [ "$(running web1)" = "$web_svcs" ]'
check "data1 has the volumes of postgres and redis only" test \
	"$(names data1 volume)" = "${P}_postgres-data ${P}_redis-data"
check "web1 has those of prometheus and grafana only" test \
	"$(names web1 volume)" = "${P}_grafana-data ${P}_prometheus-data"
check "each host has the project's network" eval \
	'[ "$(names data1 network)" = "${P}_maicivy-network" ] && [ "$(names web1 network)" = "${P}_maicivy-network" ]'
check "postgres publishes on data1's loopback" eval \
	"eng data1 port ${P}-postgres 2>/dev/null | grep -q '127.0.0.1:${ports[2]}' ||
	 eng data1 ps --filter label=io.reconciler.service=postgres --filter label=io.reconciler.project=$P --format '{{.Ports}}' | grep -q '127.0.0.1:${ports[2]}->5432'"
for h in $HOSTS; do
	expect_exit "then diff as $h says in sync" 0 ctl "$h" diff --no-color
	expect_exit "and a second apply as $h has nothing to do" 0 ctl "$h" apply
	expect_contains "  (every service in sync)" "in sync, nothing to do"
done
