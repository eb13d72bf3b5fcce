#!/usr/bin/env bash
# Deploy status on the commit (commit_status: in reconcilerd's config): a
# local server (status-server.py) speaks GitHub's and Gitea's status
# endpoints and records what it gets. A good commit gets pending then
# success; a commit whose health gate fails gets pending then one failure that
# names the service; then Gitea's API after a SIGHUP, and a failure for an
# invalid manifest; a token file others may read is refused with a clear log
# line; the token never reaches the log or the status.
. "$(dirname "$0")/daemon-lib.sh"

dl_setup rt-cstatus
dl_repo_init
DL_MANIFEST=manifests/s.yaml
mkdir -p "$DL_WORK/manifests"

rec=$E2E_TMP/statuses.jsonl
token=tok-SECRET-$RANDOM$RANDOM
tokfile=$E2E_TMP/status-token
(umask 077 && printf '%s\n' "$token" >"$tokfile")
port=$(e2e_free_port)
pf=$E2E_TMP/$RANDOM.receiver.pid
"$E2E_PYTHON" "$E2E_TOP/tests/e2e/status-server.py" "$port" "$rec" "$token" >/dev/null 2>&1 &
echo $! >"$pf"
_dl_register_pidfile "$pf"
check "the status server listens" rt_wait 20 _dl_port_open "$port"

conf=$E2E_TMP/reconciler.yaml
config() { # PROVIDER URL
	cat >"$conf" <<EOT
repo: $DL_REPO_URL
branch: main
manifest: $DL_MANIFEST
state_dir: $DL_STATE
secrets_dir: $E2E_SECRETS
poll_interval: 1s
commit_status:
  provider: $1
  url: $2
  repository: acme/shop
  token_file: $tokfile
  target_url: https://deploy.example.com/status
EOT
}
manifest() { # IMAGE
	cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: rt-cstatus
services:
  api:
    image: $1
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 2
EOT
}
# states SHA [PROVIDER]: the states posted for SHA, in order, space-separated
states() {
	[ -f "$rec" ] || return 0
	"$E2E_PYTHON" -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["sha"] == sys.argv[2] and (len(sys.argv) < 4 or r["provider"] == sys.argv[3]):
        out.append(r["body"]["state"])
print(" ".join(out))' "$rec" "$@"
}
has_states() { [ "$(states "$1" "${3:-}")" = "$2" ]; }
# field SHA STATE KEY: that field of the status posted
field() {
	"$E2E_PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["sha"] == sys.argv[2] and r["body"]["state"] == sys.argv[3]:
        print(r["body"].get(sys.argv[4], ""))
        break' "$rec" "$@"
}
all_ok() { "$E2E_PYTHON" -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
bad = [r for r in rs if not r["ok"]]
for r in bad:
    print("# refused:", r["path"], r["why"])
sys.exit(0 if rs and not bad else 1)' "$rec"; }

# ------------------------------------------------------------------ GitHub
manifest "$IMG_WEB_V1"
rev1=$(dl_commit_push "status: v1")
config github "http://127.0.0.1:$port/"
check "the daemon starts" dl_daemon_start -c "$conf"
check "the first deploy converges" dl_wait_head 90 "$rev1" "in-sync converged"
check "GitHub got pending then success on $rev1" rt_wait 30 has_states "$rev1" "pending success" github
check "the context is reconciler/<host>" grep -q '^reconciler/.' <(field "$rev1" success context)
check "the link is the target_url" test "$(field "$rev1" success target_url)" = https://deploy.example.com/status

manifest "$IMG_UNHEALTHY"
rev2=$(dl_commit_push "status: broken")
check "the broken revision is degraded" dl_wait_head 120 "$rev2" degraded
check "GitHub got pending then failure on $rev2" rt_wait 30 has_states "$rev2" "pending failure" github
desc=$(field "$rev2" failure description)
check "the failure names the service and why: '$desc'" grep -q '^api: ..' <<<"$desc"
expect_exit "reconcilerctl sync --wait forces a cycle (still failing: exit 1)" 1 "$RECONCILERCTL" sync --wait --timeout 60s --state-dir "$DL_STATE"
dl_wait_cycles 30 2 >/dev/null
check "one failure, not one per cycle" has_states "$rev2" "pending failure" github

# ------------------------------------------------------------------ Gitea
config gitea "http://127.0.0.1:$port/api/v1"
check "SIGHUP switches to Gitea" dl_daemon_reload
manifest "$IMG_WEB_V2"
rev3=$(dl_commit_push "status: v2")
check "the fixed revision converges" dl_wait_head 120 "$rev3" "in-sync converged"
check "Gitea got pending then success on $rev3" rt_wait 30 has_states "$rev3" "pending success" gitea
printf 'version: 1\nproject: rt-cstatus\nservices:\n  api:\n    image: nginx:latest\n' >"$DL_WORK/$DL_MANIFEST"
revx=$(dl_commit_push "status: invalid")
check "an invalid manifest gets a failure, no pending" rt_wait 60 has_states "$revx" failure gitea
check "  naming file:line:col" grep -q 's.yaml@[0-9a-f]*:5:12' <<<"$(field "$revx" failure description)"
check "every request had the headers, path and body its API takes" all_ok

# ------------------------------------------------------------------ a token others may read
chmod 0644 "$tokfile"
mark=$(dl_log_mark)
manifest "$IMG_WEB_V1"
rev4=$(dl_commit_push "status: v1 again")
check "the next revision converges all the same" dl_wait_head 120 "$rev4" "in-sync converged"
check "the log says why no status is posted" rt_wait 20 grep -q "commit=${rev4:0:12} state=.* not posted: commit_status.token_file: .*chmod 600" <(dl_log_since "$mark")
check "nothing was posted for $rev4" test -z "$(states "$rev4")"

# ------------------------------------------------------------------ secrets
check "the token is not in the daemon's log" test "$(grep -c "$token" "$DL_LOG")" = 0
check "the token is not in status.json" test "$(grep -c "$token" "$DL_STATE/status.json")" = 0
dl_daemon_stop 60
