#!/usr/bin/env bash
# Quarantine, self-heal and the revision that serves, on the real engine:
#   a bump that fails its gate is quarantined, and the service's last good
#   container is healed all the same: started again after `docker stop`,
#   created again from the last good revision's manifest after `docker rm -f`;
#   a self-heal whose new container is removed during its gate does not
#   quarantine the revision that serves: it is tried again, and the journal
#   gives the true reason; `reconcilerctl status` names the revision that
#   serves (not the one that just failed) and exits 0 in sync, 1 degraded,
#   2 in error.
#
# Needs tests/env/up.sh. Run: TIERS=e2e E2E=quarantine tests/run.sh
set -uo pipefail

# shellcheck source=daemon-lib.sh
. "$(dirname "$0")/daemon-lib.sh"

P=rt-quar
dl_setup "$P"
dl_repo_init || {
	fail "setup: git repositories"
	exit 1
}
DL_MANIFEST=manifests/quar.yaml
mf=$DL_WORK/$DL_MANIFEST
mkdir -p "$(dirname "$mf")"

quick='["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]'
# a gate of about four seconds: time enough to remove the container under it
slow='["CMD-SHELL", "sleep 3 && wget -q -O /dev/null http://127.0.0.1:8080/health"]'

manifest() { # IMAGE [HEALTH-TEST]
	cat >"$mf" <<EOT
# $P: written by tests/e2e/quarantine.sh
version: 1
project: $P
services:
  api:
    image: $1
    healthcheck:
      test: ${2:-$quick}
      interval: 1s
      timeout: 10s
      retries: 3
EOT
}

ctl() {
	local sub=$1
	shift
	"$RECONCILERCTL" "$sub" --state-dir "$DL_STATE" "$@"
}
status_cmd() { e2e_ctl status -f "$mf"; }
label() { docker inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null; }
image_of() { docker inspect --format '{{.Config.Image}}' "$1" 2>/dev/null; }
events_start() { dl_events_start --filter "label=io.reconciler.project=$P"; }
created() { awk '$2 == "create"' <<<"$DL_EVENTS" | wc -l | tr -d ' '; }
healthy_id() { # NAME: the ID of a running, healthy container of that name
	[ "$(e2e_state "$1")" = running/healthy ] && e2e_cid "$1"
}
_healthy_other() { # NAME ID: healthy, and not the container ID
	local id
	id=$(healthy_id "$1") && [ "$id" != "$2" ]
}
_healthy_same() { [ "$(healthy_id "$1")" = "$2" ]; }
_starting_other() { # NAME ID: a container of that name other than ID gates
	local id
	id=$(e2e_cid "$1") && [ "$id" != "$2" ] && [ "$(e2e_state "$1")" = running/starting ]
}
_exists_other() { # NAME ID: a container of that name other than ID exists
	local id
	id=$(e2e_cid "$1") && [ -n "$id" ] && [ "$id" != "$2" ]
}

# ---------------------------------------------------------------- v1 serves

manifest "$IMG_WEB_V1"
rev1=$(dl_commit_push "api: v1")
dl_daemon_args
check "the daemon starts" dl_daemon_start "${DL_ARGS[@]}"
if ! dl_wait_head 120 "$rev1" "in-sync converged"; then
	fail "v1 converges"
	dl_diag
	exit 1
fi
ok "v1 converges"
expect_exit "status: exit 0 when the daemon is in sync" 0 status_cmd
expect_contains "status: names the revision that serves (v1)" "serving ${rev1:0:12}"

# ---------------------------------------------------------------- a bump fails

manifest "$IMG_UNHEALTHY"
rev2=$(dl_commit_push "api: never healthy")
if dl_wait_head 120 "$rev2" degraded; then
	ok "a never-healthy bump is quarantined (degraded at ${rev2:0:12})"
else
	fail "a never-healthy bump is quarantined"
	dl_diag
fi
v1=$(e2e_cid "$P-api")
is "the v1 container still serves" "$(image_of "$P-api")" "$IMG_WEB_V1"
is "status.json: last_good is v1, not the bump that failed" "$(dl_status 'd.get("last_good")')" "$rev1"
is "status.json: api is served by v1" "$(dl_status 'd.get("serving", {}).get("api")')" "$rev1"
expect_exit "status: exit 1 when the daemon is degraded" 1 status_cmd
expect_contains "status: names the revision that serves (v1)" "serving ${rev1:0:12}"
expect_not_contains "status: does not call the failed bump good" "last good ${rev2:0:12}"
expect_contains "status: says the bump failed on api" "${rev2:0:12} failed on api"

# ---------------------------------------------------------------- item 1: stop

mark=$(dl_log_mark)
docker stop "$P-api" >/dev/null
if rt_wait 90 _healthy_same "$P-api" "$v1"; then
	ok "quarantined: the stopped v1 container is started again"
else
	fail "quarantined: the stopped v1 container is started again (state $(e2e_state "$P-api"))"
	dl_diag
fi
check "the log says it healed api at v1" grep -q "heal.*service=api.*revision=${rev1:0:12}" <(dl_log_since "$mark")

# ---------------------------------------------------------------- item 1: rm

docker rm -f "$P-api" >/dev/null
if rt_wait 120 _healthy_other "$P-api" "$v1"; then
	ok "quarantined: the removed v1 container is created again"
else
	fail "quarantined: the removed v1 container is created again (state $(e2e_state "$P-api"))"
	dl_diag
fi
is "it is created from the last good spec (the v1 image)" "$(image_of "$P-api")" "$IMG_WEB_V1"
is "and labelled with the last good revision" "$(label "$P-api" io.reconciler.revision)" "$rev1"
events_start
dl_wait_cycles 30 3
dl_events_stop
is "the quarantine still holds: no container created in 3 cycles" "$(created)" 0
is "status.json: still degraded at the bump" "$(dl_status 'd.get("state")')" degraded
out=$(ctl history --json --limit 200)
check "history: the heal is journaled at v1" "$E2E_PYTHON" -c '
import json, sys
h = json.load(sys.stdin)
sys.exit(not any(c["revision"] == sys.argv[1] and c["trigger"] == "heal" and any(a["service"] == "api" and
    a["action"] in ("start", "create") and a["outcome"] == "ok" for a in c["actions"]) for c in h))' \
	"$rev1" <<<"$out"

# ---------------------------------------------------------------- item 2

manifest "$IMG_WEB_V2" "$slow"
rev3=$(dl_commit_push "api: v2 behind a slow gate")
if dl_wait_head 120 "$rev3" "in-sync converged"; then
	ok "a good bump (v2) converges"
else
	fail "a good bump (v2) converges"
	dl_diag
fi
v2=$(e2e_cid "$P-api")
mark=$(dl_log_mark)
docker rm -f "$P-api" >/dev/null
# the self-heal creates a new api; it is removed again as soon as it exists
# (before its start, most often: 409 "marked for removal")
if rt_wait 60 _exists_other "$P-api" "$v2"; then
	seen=$(e2e_state "$P-api")
	heal1=$(e2e_cid "$P-api")
	docker rm -f "$P-api" >/dev/null 2>&1
	ok "the healing container is removed at once (it was $seen)"
else
	fail "the self-heal creates a new api container"
fi
# the next heal is removed while its gate waits for it to be healthy
if rt_wait 60 _starting_other "$P-api" "$heal1"; then
	docker rm -f "$P-api" >/dev/null 2>&1
	ok "the next healing container is removed during its gate"
else
	fail "the next healing container is removed during its gate (state $(e2e_state "$P-api"))"
fi
if rt_wait 120 _healthy_other "$P-api" "$v2"; then
	ok "a failed self-heal is tried again: api runs"
else
	fail "a failed self-heal is tried again: api runs (state $(e2e_state "$P-api"))"
	dl_diag
fi
is "api runs v2" "$(image_of "$P-api")" "$IMG_WEB_V2"
if dl_wait_status 60 "d.get('head') == '$rev3' and d.get('state') in ('in-sync', 'converged') and not d.get('quarantined')"; then
	ok "nothing is quarantined: the serving revision was not held for api"
else
	fail "nothing is quarantined: the serving revision was not held for api"
	dl_diag
fi
out=$(ctl history --json --limit 200)
reasons=$("$E2E_PYTHON" -c '
import json, sys
for c in json.load(sys.stdin):
    for a in c["actions"]:
        if c["revision"] == sys.argv[1] and a["service"] == "api" and a["outcome"] == "failed":
            print(a["error"])' "$rev3" <<<"$out")
echo "# failed heals at v2:"
printf '%s\n' "${reasons:-none}" | sed 's/^/#   /' 
dl_log_since "$mark" | grep -E 'service=api (action|outcome)=' | sed 's/^/#   /' 
check "history: the failed heal is journaled" test -n "$reasons"
out=$reasons
expect_contains "history: a heal removed during its gate says so" "the container was removed during its health gate"
is "history: every failed heal says the container was removed" "$(grep -vc 'container was removed' <<<"$reasons")" 0
expect_not_contains "history: not the misleading 'unhealthy (last check: exit 0)'" "last check: exit 0"

# ---------------------------------------------------------------- item 18: error

mv "$DL_REMOTE" "$DL_REMOTE.away"
if dl_wait_status 60 "d.get('state') == 'error'"; then
	ok "with the remote gone the daemon is in error"
else
	fail "with the remote gone the daemon is in error"
fi
expect_exit "status: exit 2 when the daemon is in error" 2 status_cmd
mv "$DL_REMOTE.away" "$DL_REMOTE"
ctl sync >/dev/null 2>&1 # past the error backoff
dl_wait_status 90 "d.get('state') in ('in-sync', 'converged')" ||
	fail "the daemon recovers once the remote is back"
expect_exit "status: exit 0 once in sync again" 0 status_cmd

dl_daemon_stop 60
is "SIGTERM: exit 0" "$DL_DAEMON_RC" 0
