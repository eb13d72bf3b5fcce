# shellcheck shell=bash source-path=SCRIPTDIR
# Shared helpers for the end-to-end scenarios (tests/e2e/*.sh), which run
# reconcilerctl against the real engine and registry of tests/env/up.sh.
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_setup rt-NAME          temp dir ($E2E_TMP with secrets/ and state/),
#                              leftovers of an earlier run removed, cleanup
#                              trap on EXIT/INT/TERM, $IMG_* loaded
#   e2e_ctl SUBCOMMAND ARGS…   reconcilerctl with --state-dir/--secrets-dir
#   e2e_run ARGS…              docker run -d with the scenario's owner label
#   e2e_swarm [NODES]          (before e2e_setup) the test swarm of
#                              tests/env/swarm-up.sh: $RT_SWARM_* exported,
#                              `sdocker` = docker against its manager, the
#                              project's services, secrets, configs and
#                              networks there in the cleanup
#
# TAP helpers (ok, fail, check, is, expect_exit, expect_contains,
# expect_not_contains) come from tests/cli/lib.sh.
#
# tests/run.sh runs every tests/e2e/*.sh: executed rather than sourced, this
# file does nothing and prints nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	exit 0
fi

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_TOP=$(cd "$E2E_DIR/../.." && pwd)
RECONCILERCTL=${RECONCILERCTL:-$E2E_TOP/${BUILD:-build}/reconcilerctl}
E2E_PYTHON=${E2E_PYTHON:-/usr/bin/python3}
# Label on every container and volume a scenario creates by hand (foreign
# containers, probes): cleanup finds them by it. Not an io.reconciler.* key,
# so the reconciler sees such a container as foreign.
E2E_OWNER_LABEL=rt.e2e.owner

# shellcheck source=../cli/lib.sh
. "$E2E_TOP/tests/cli/lib.sh"
RT_QUIET=${RT_QUIET:-1}
export RT_QUIET
# shellcheck source=../env/lib.sh
. "$E2E_TOP/tests/env/lib.sh"

# E2E_DOCKER_HOST (tests/run.sh sets it with RT_PROXY=1): the programs under
# test reach the engine there, a socket proxy's allow-list; the scenarios'
# own docker commands still go to $RT_DOCKER_SOCK (tests/e2e/direct/docker).
if [ -n "${E2E_DOCKER_HOST:-}" ]; then
	if [ -z "${E2E_DOCKER_CLI:-}" ]; then
		E2E_DOCKER_CLI=$(command -v docker) || E2E_DOCKER_CLI=/usr/bin/docker
		PATH=$E2E_DIR/direct:$PATH
		export E2E_DOCKER_CLI PATH
	fi
	export DOCKER_HOST=$E2E_DOCKER_HOST
fi

E2E_START=$SECONDS

# e2e_setup PROJECT: see above. Exits (one "not ok" line) when the
# environment is not usable.
e2e_setup() {
	E2E_PROJECT=$1
	case $E2E_PROJECT in
	"$RT_PROJECT_PREFIX"*) ;;
	*)
		fail "setup: project '$E2E_PROJECT' must start with $RT_PROJECT_PREFIX"
		exit 1
		;;
	esac
	if [ ! -x "$RECONCILERCTL" ]; then
		fail "setup: $RECONCILERCTL is missing (run make)"
		exit 1
	fi
	if ! rt_docker_ok || [ ! -f "$RT_IMAGES_ENV" ]; then
		fail "setup: the test environment is not up (run tests/env/up.sh)"
		exit 1
	fi
	# Two runs of one project (two work trees, a re-run beside a hung one)
	# would fight over the same containers: the second waits for the first.
	exec 7>"$RT_STATE/e2e-project-$E2E_PROJECT.lock"
	if ! flock -w 1800 7; then
		fail "setup: another run of $E2E_PROJECT holds $RT_STATE/e2e-project-$E2E_PROJECT.lock"
		exit 1
	fi
	rt_images_load
	e2e_docker_cleanup
	E2E_TMP=$(mktemp -d "/tmp/$E2E_PROJECT.XXXXXX")
	E2E_SECRETS=$E2E_TMP/secrets
	E2E_STATE=$E2E_TMP/state
	mkdir -p "$E2E_SECRETS" "$E2E_STATE"
	chmod 0700 "$E2E_SECRETS" "$E2E_STATE"
	# The cleanup's report goes to the original stdout: a signal can run
	# the trap while a command's redirection is still in effect.
	exec {E2E_STDOUT}>&1
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# e2e_docker_cleanup: remove what the scenario left in docker: the project's
# objects (tests/env/down.sh --project) and those carrying the owner label.
e2e_docker_cleanup() {
	local ids try log
	log=$(mktemp /tmp/rt-e2e-down.XXXXXX)
	# A network can still count the endpoint of a container removed a moment
	# ago ("has active endpoints"): more passes after a pause.
	for try in 1 2 3; do
		"$E2E_TOP/tests/env/down.sh" --project "$E2E_PROJECT" >"$log" 2>&1 && break
		[ "$try" = 3 ] && sed 's/^/# down.sh: /' "$log"
		sleep 1
	done
	rm -f "$log"
	ids=$(docker ps -aq --filter "label=$E2E_OWNER_LABEL=$E2E_PROJECT" 2>/dev/null)
	# shellcheck disable=SC2086 # one ID per word
	[ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
	ids=$(docker volume ls -q --filter "label=$E2E_OWNER_LABEL=$E2E_PROJECT" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || docker volume rm -f $ids >/dev/null 2>&1 || true
	[ -z "${RT_SWARM_HOST:-}" ] || _e2e_swarm_cleanup
}

# e2e_leftovers: print what is still labelled for the project or the owner.
e2e_leftovers() {
	docker ps -a --filter "label=io.reconciler.project=$E2E_PROJECT" --format 'container {{.Names}}'
	docker ps -a --filter "label=$E2E_OWNER_LABEL=$E2E_PROJECT" --format 'container {{.Names}}'
	docker network ls --filter "label=io.reconciler.project=$E2E_PROJECT" --format 'network {{.Name}}'
	docker volume ls --filter "label=io.reconciler.project=$E2E_PROJECT" --format 'volume {{.Name}}'
	docker volume ls --filter "label=$E2E_OWNER_LABEL=$E2E_PROJECT" --format 'volume {{.Name}}'
	[ -z "${RT_SWARM_HOST:-}" ] || _e2e_swarm_objects |
		while read -r kind id; do printf 'swarm %s %s\n' "$kind" "$id"; done
}

# e2e_swarm [NODES]: see above. Exits (one "not ok" line) unless the swarm
# is up with at least NODES (1) nodes. Its nodes publish (mode host) on
# $RT_SWARM_ADDRS (RT_SWARM_ADDR: the manager's), reachable from here.
e2e_swarm() {
	local want=${1:-1}
	if [ ! -f "$RT_STATE/swarm.env" ]; then
		fail "setup: no test swarm (tests/env/swarm-up.sh --nodes $want)"
		exit 1
	fi
	set -a
	# shellcheck source=/dev/null
	. "$RT_STATE/swarm.env"
	set +a
	if ! sdocker info >/dev/null 2>&1 || [ "${RT_SWARM_NODES:-0}" -lt "$want" ]; then
		fail "setup: the test swarm does not answer or has fewer than $want nodes (tests/env/swarm-up.sh --nodes $want)"
		exit 1
	fi
}

# sdocker ARGS…: the docker CLI against the swarm's manager (-H beats the
# DOCKER_HOST of tests/e2e/direct/docker).
sdocker() { docker -H "$RT_SWARM_HOST" "$@"; }

# _e2e_swarm_objects: "KIND ID" of the project's objects on the swarm.
_e2e_swarm_objects() {
	local kind label
	for kind in service secret config network; do
		for label in "io.reconciler.project=$E2E_PROJECT" "$E2E_OWNER_LABEL=$E2E_PROJECT"; do
			sdocker "$kind" ls -q --filter "label=$label" 2>/dev/null | sed "s/^/$kind /"
		done
	done | sort -u
}

_e2e_swarm_cleanup() {
	local kind id sock
	_e2e_swarm_objects | while read -r kind id; do
		[ "$kind" = service ] && sdocker service rm "$id" >/dev/null 2>&1
	done
	# containers started by hand on the nodes (docker run on an attachable network)
	for sock in "$RT_SWARM_SOCK" ${RT_SWARM_WORKER_SOCKS:-}; do
		id=$(docker -H "unix://$sock" ps -aq --filter "label=$E2E_OWNER_LABEL=$E2E_PROJECT" 2>/dev/null)
		# shellcheck disable=SC2086 # one ID per word
		[ -z "$id" ] || docker -H "unix://$sock" rm -f $id >/dev/null 2>&1
	done
	# secrets and networks are in use until the services' tasks are gone
	rt_wait 60 _e2e_swarm_rm_rest || true
}

# (a removed network stays listed until its last task has let go of it)
_e2e_swarm_rm_rest() {
	local kind id
	while read -r kind id; do
		[ "$kind" = service ] || sdocker "$kind" rm "$id" >/dev/null 2>&1
	done < <(_e2e_swarm_objects)
	[ -z "$(_e2e_swarm_objects)" ]
}

# _e2e_stale_networks: filter e2e_leftovers, dropping (with a warning) the
# networks that no container uses but dockerd refuses to remove ("has active
# endpoints": a stale endpoint inside dockerd, which only its restart clears).
# A later run of the scenario reuses such a network.
_e2e_stale_networks() {
	local kind name err
	while read -r kind name; do
		if [ "$kind" = network ] &&
			[ "$(docker network inspect -f '{{len .Containers}}' "$name" 2>/dev/null)" = 0 ] &&
			! err=$(docker network rm "$name" 2>&1 >/dev/null) &&
			[[ $err == *"active endpoints"* ]]; then
			echo "# warning: dockerd keeps network $name: it has no container but a stale endpoint" >&"$E2E_STDOUT"
			continue
		fi
		[ -z "$kind" ] || printf '%s %s\n' "$kind" "$name"
	done
}

e2e_cleanup() {
	local rc=$? left
	trap - EXIT INT TERM
	exec 1>&"$E2E_STDOUT" 2>&1
	case $rc in
	129 | 130 | 131 | 143) fail "interrupted by a signal (exit $rc)" ;;
	esac
	e2e_docker_cleanup
	left=$(e2e_leftovers 2>/dev/null | _e2e_stale_networks)
	if [ -z "$left" ]; then
		ok "cleanup: nothing labelled $E2E_PROJECT is left"
	else
		fail "cleanup: left behind"
		printf '%s\n' "$left" | sed 's/^/#   /'
	fi
	[ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
	echo "# $_t_name: $((SECONDS - E2E_START)) s"
	exit "$rc"
}

# e2e_ctl SUBCOMMAND ARGS…: reconcilerctl with the scenario's state and
# secrets directories.
e2e_ctl() {
	local sub=$1
	shift
	"$RECONCILERCTL" "$sub" --state-dir "$E2E_STATE" --secrets-dir "$E2E_SECRETS" "$@"
}

# e2e_run ARGS…: docker run -d with the owner label (cleanup finds it).
e2e_run() {
	docker run -d --label "$E2E_OWNER_LABEL=$E2E_PROJECT" "$@"
}

# e2e_free_port: print a TCP port >= 20000 that nothing listens on at 127.0.0.1.
e2e_free_port() {
	"$E2E_PYTHON" - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randrange(20000, 30000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port")
EOF
}

# e2e_cid NAME: the container's full ID (empty, status 1, if there is none).
e2e_cid() {
	docker inspect --type container --format '{{.Id}}' "$1" 2>/dev/null
}

# e2e_state NAME: "running", "exited", … plus "/healthy" etc. when it has a
# healthcheck; "missing" if there is no such container.
e2e_state() {
	local st
	st=$(docker inspect --type container \
		--format '{{.State.Status}}{{if .State.Health}}/{{.State.Health.Status}}{{end}}' \
		"$1" 2>/dev/null) || st=missing
	printf '%s\n' "${st:-missing}"
}

# e2e_wait_state TIMEOUT NAME STATE: wait until e2e_state NAME prints STATE.
e2e_wait_state() {
	local timeout=$1 name=$2 want=$3
	rt_wait "$timeout" _e2e_state_is "$name" "$want"
}
_e2e_state_is() { [ "$(e2e_state "$1")" = "$2" ]; }

# e2e_plan FILE: validate a `reconcilerctl diff --json` document against the
# schema of docs/diff-json.md (strictly: unknown keys are errors) and its own
# consistency (summary counts, in_sync), then print a one-line digest of it:
# "in-sync", or the entries that are not, in order, separated by spaces:
#   SERVICE:ACTION[!ANOMALY-KIND,…]   e.g. "web:start" or "api:in-sync!unhealthy"
#   network+NAME / volume+NAME        (network or volume to create; "!" when a
#                                      missing external one)
# Status 1 (and the problems on stdout) when the document is not valid.
e2e_plan() {
	"$E2E_PYTHON" - "$1" <<'EOF'
import json, re, sys

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
ACTIONS = ["in-sync", "create", "recreate", "start", "remove", "blocked"]
errors = []

def err(msg):
    errors.append(msg)

def keys(where, obj, required, optional=()):
    if not isinstance(obj, dict):
        err(f"{where}: not an object")
        return False
    for k in required:
        if k not in obj:
            err(f"{where}: missing key {k!r}")
    for k in obj:
        if k not in required and k not in optional:
            err(f"{where}: unexpected key {k!r}")
    return True

def is_str(v):
    return isinstance(v, str)

def str_or_null(where, v):
    if v is not None and not is_str(v):
        err(f"{where}: not a string or null: {v!r}")

try:
    with open(sys.argv[1]) as f:
        d = json.load(f)
except Exception as e:
    print(f"not JSON: {e}")
    sys.exit(1)

if keys("top level", d, ["format", "project", "in_sync", "summary", "services",
                         "networks", "volumes"], ["revision"]):
    if d.get("format") != 1 or isinstance(d.get("format"), bool):
        err(f"format is {d.get('format')!r}, expected 1")
    if not is_str(d.get("project")):
        err("project: not a string")
    if not isinstance(d.get("in_sync"), bool):
        err("in_sync: not a boolean")
    if "revision" in d and not (is_str(d["revision"]) and HEX40.match(d["revision"])):
        err(f"revision: not a 40-hex commit id: {d['revision']!r}")
    svcs = d.get("services")
    if not isinstance(svcs, list):
        err("services: not an array")
        svcs = []
    counts = dict.fromkeys(ACTIONS, 0)
    nanom = 0
    digest = []
    for i, s in enumerate(svcs):
        w = f"services[{i}]"
        if not keys(w, s, ["service", "action", "reasons", "anomalies", "container", "id",
                           "spec_hash", "current_spec_hash", "revision"], ["kept_volumes"]):
            continue
        a = s.get("action")
        if a not in ACTIONS:
            err(f"{w}.action: {a!r} is not one of {ACTIONS}")
            continue
        counts[a] += 1
        if not is_str(s.get("service")):
            err(f"{w}.service: not a string")
        for k in ("container", "id", "current_spec_hash", "revision", "spec_hash"):
            str_or_null(f"{w}.{k}", s.get(k))
        for k in ("spec_hash", "current_spec_hash"):
            if is_str(s.get(k)) and not HEX64.match(s[k]):
                err(f"{w}.{k}: not 64 lowercase hex digits")
        if (a == "remove") != (s.get("spec_hash") is None):
            err(f"{w}.spec_hash: must be null exactly when the action is remove")
        if (a == "remove") != ("kept_volumes" in s):
            err(f"{w}.kept_volumes: must be present exactly when the action is remove")
        if "kept_volumes" in s and not (isinstance(s["kept_volumes"], list) and
                                        all(is_str(v) for v in s["kept_volumes"])):
            err(f"{w}.kept_volumes: not an array of strings")
        if a == "create" and (s.get("container") is not None or s.get("id") is not None):
            err(f"{w}: create with a container")
        if a in ("in-sync", "recreate", "start", "remove", "blocked") and not s.get("container"):
            err(f"{w}: {a} without a container")
        if a in ("in-sync", "start") and s.get("spec_hash") != s.get("current_spec_hash"):
            err(f"{w}: {a} but spec_hash != current_spec_hash")
        if a == "recreate" and s.get("spec_hash") == s.get("current_spec_hash"):
            err(f"{w}: recreate with an unchanged spec_hash")
        reasons = s.get("reasons")
        if not isinstance(reasons, list):
            err(f"{w}.reasons: not an array")
            reasons = []
        for j, r in enumerate(reasons):
            if keys(f"{w}.reasons[{j}]", r, ["field", "message"]) and not (
                    is_str(r.get("field")) and is_str(r.get("message"))):
                err(f"{w}.reasons[{j}]: field and message must be strings")
        if a == "in-sync" and reasons:
            err(f"{w}: in sync with reasons")
        if a not in ("in-sync", "blocked") and not reasons:
            err(f"{w}: {a} without a reason")
        anoms = s.get("anomalies")
        if not isinstance(anoms, list):
            err(f"{w}.anomalies: not an array")
            anoms = []
        kinds = []
        for j, an in enumerate(anoms):
            if keys(f"{w}.anomalies[{j}]", an, ["kind", "message"], ["container"]):
                for k in ("kind", "message", "container"):
                    if k in an and not is_str(an[k]):
                        err(f"{w}.anomalies[{j}].{k}: not a string")
                kinds.append(str(an.get("kind")))
        if a == "blocked" and not anoms:
            err(f"{w}: blocked without an anomaly")
        nanom += len(anoms)
        if a != "in-sync" or kinds:
            digest.append(f"{s.get('service')}:{a}" + ("!" + ",".join(kinds) if kinds else ""))
    nres = 0
    for kind in ("networks", "volumes"):
        items = d.get(kind)
        if not isinstance(items, list):
            err(f"{kind}: not an array")
            continue
        for j, it in enumerate(items):
            if keys(f"{kind}[{j}]", it, ["name", "action"]):
                if not is_str(it.get("name")):
                    err(f"{kind}[{j}].name: not a string")
                if it.get("action") not in ("create", "missing-external"):
                    err(f"{kind}[{j}].action: {it.get('action')!r}")
                nres += 1
                digest.append(f"{kind[:-1]}{'+' if it.get('action') == 'create' else '!'}"
                              f"{it.get('name')}")
    summ = d.get("summary")
    want = {"create": counts["create"], "recreate": counts["recreate"],
            "start": counts["start"], "remove": counts["remove"],
            "in_sync": counts["in-sync"], "blocked": counts["blocked"], "anomalies": nanom}
    if keys("summary", summ, list(want)):
        for k, v in want.items():
            if summ.get(k) != v or isinstance(summ.get(k), bool):
                err(f"summary.{k} is {summ.get(k)!r}, the services say {v}")
    in_sync = (counts["in-sync"] == len(svcs) and nanom == 0 and nres == 0)
    if d.get("in_sync") is not in_sync:
        err(f"in_sync is {d.get('in_sync')!r}, the plan says {in_sync}")

if errors:
    print("invalid diff --json: " + "; ".join(errors))
    sys.exit(1)
print(" ".join(digest) if digest else "in-sync")
EOF
}

# e2e_jq FILE EXPR: print a Python expression over the JSON document `d`
# (strings as is, anything else as JSON), e.g. e2e_jq f.json 'd["revision"]'.
e2e_jq() {
	"$E2E_PYTHON" - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# e2e_marks: the service lines of a human diff in $out, "<mark> <service>"
# one per line, e.g. "= api" or "~ web" (network and volume lines too).
e2e_marks() {
	# shellcheck disable=SC2154 # $out is set by expect_exit (tests/cli/lib.sh)
	sed -n 's/^\([-+~>!=]\) \(network [^ ]*\|volume [^ ]*\|[^ ]*\).*/\1 \2/p' <<<"$out"
}

# e2e_anomaly_lines: the anomaly lines of a human diff in $out, unindented.
e2e_anomaly_lines() {
	# shellcheck disable=SC2154
	sed -n 's/^    ! //p' <<<"$out"
}
